package memstore

import "github.com/ingestiq/auth"

// memberIndexAt is the size from which a memberSet also keeps a map by
// user id; below it a scan of the slice is as fast and much smaller.
const memberIndexAt = 16

// memberSet is the members of one organization. Most organizations are a
// user's own, of one member, for which a Go map costs about 250 bytes: the
// set keeps a slice, and a map by user id only once it grows past
// memberIndexAt members. A nil *memberSet is empty.
type memberSet struct {
	list  []*auth.Membership
	index map[string]*auth.Membership
}

// newMemberSet returns a set holding m.
func newMemberSet(m *auth.Membership) *memberSet {
	return &memberSet{list: []*auth.Membership{m}}
}

// get returns the membership of userID, or nil.
func (ms *memberSet) get(userID string) *auth.Membership {
	if ms == nil {
		return nil
	}
	if ms.index != nil {
		return ms.index[userID]
	}
	for _, m := range ms.list {
		if m.UserID == userID {
			return m
		}
	}
	return nil
}

// put adds m, or replaces the membership of the same user.
func (ms *memberSet) put(m *auth.Membership) {
	for i, old := range ms.list {
		if old.UserID == m.UserID {
			ms.list[i] = m
			if ms.index != nil {
				ms.index[m.UserID] = m
			}
			return
		}
	}
	ms.list = append(ms.list, m)
	switch {
	case ms.index != nil:
		ms.index[m.UserID] = m
	case len(ms.list) > memberIndexAt:
		ms.index = make(map[string]*auth.Membership, len(ms.list))
		for _, x := range ms.list {
			ms.index[x.UserID] = x
		}
	}
}

// remove deletes the membership of userID, if any.
func (ms *memberSet) remove(userID string) {
	for i, m := range ms.list {
		if m.UserID == userID {
			last := len(ms.list) - 1
			ms.list[i] = ms.list[last]
			ms.list[last] = nil
			ms.list = ms.list[:last]
			if ms.index != nil {
				delete(ms.index, userID)
			}
			return
		}
	}
}

// len returns the number of members.
func (ms *memberSet) len() int {
	if ms == nil {
		return 0
	}
	return len(ms.list)
}

// all returns the memberships, in no particular order; the caller must
// not keep the slice past the store's lock.
func (ms *memberSet) all() []*auth.Membership {
	if ms == nil {
		return nil
	}
	return ms.list
}

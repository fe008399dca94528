package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// mix is the weight of each load operation, indexed by op.
type mix [numLoadOps]int

// defaultMix is mostly reads and refreshes, with enough registrations and
// logins to keep the password hashing busy: register 5, login 10, me 60,
// refresh 25.
var defaultMix = mix{opRegister: 5, opLogin: 10, opMe: 60, opRefresh: 25}

// String formats m as register=5,login=10,me=60,refresh=25.
func (m *mix) String() string {
	parts := make([]string, numLoadOps)
	for o := range numLoadOps {
		parts[o] = fmt.Sprintf("%s=%d", o, m[o])
	}
	return strings.Join(parts, ",")
}

// Set parses either name=weight pairs, in any order, where operations not
// named weigh 0, or four weights in the order register,login,me,refresh.
func (m *mix) Set(v string) error {
	var n mix
	parts := strings.Split(v, ",")
	named := strings.Contains(v, "=")
	if !named && len(parts) != int(numLoadOps) {
		return fmt.Errorf("want %d weights (register,login,me,refresh) or name=weight pairs", numLoadOps)
	}
	seen := map[op]bool{}
	for i, p := range parts {
		o := op(i)
		w := strings.TrimSpace(p)
		if named {
			name, weight, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("%q: want name=weight", p)
			}
			o = -1
			for k := range numLoadOps {
				if strings.TrimSpace(name) == k.String() {
					o = k
				}
			}
			if o < 0 {
				return fmt.Errorf("unknown operation %q; want register, login, me or refresh", strings.TrimSpace(name))
			}
			if seen[o] {
				return fmt.Errorf("operation %q given twice", o)
			}
			seen[o] = true
			w = strings.TrimSpace(weight)
		}
		x, err := strconv.Atoi(w)
		if err != nil || x < 0 {
			return fmt.Errorf("weight %q: want a whole number, 0 or more", w)
		}
		n[o] = x
	}
	if n.total() == 0 {
		return errors.New("at least one weight must be positive")
	}
	*m = n
	return nil
}

func (m *mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// pick chooses an operation at random with m's weights.
func (m *mix) pick(r *rand.Rand) op {
	x := r.IntN(m.total())
	for o, w := range m {
		if x < w {
			return op(o)
		}
		x -= w
	}
	panic("unreachable")
}

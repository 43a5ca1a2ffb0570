package benchprogs

import "testing"

func TestValid(t *testing.T) {
	for _, p := range All() {
		if _, err := p.Instructions.Marshal(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

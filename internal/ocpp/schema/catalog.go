package schema

import (
	"fmt"
	"sort"

	"github.com/opencpo/opencpo/internal/ocpp"
)

// Direction says who may send an action's request. The schemas do not say it; the protocol
// does, and the generator encodes it.
type Direction uint8

const (
	FromStation Direction = 1 << iota // the charging station initiates (BootNotification)
	FromCSMS                          // the CSMS initiates (Reset)
)

// Has reports whether d includes every direction in o.
func (d Direction) Has(o Direction) bool { return d&o == o && o != 0 }

func (d Direction) String() string {
	switch d {
	case FromStation:
		return "FromStation"
	case FromCSMS:
		return "FromCSMS"
	case FromStation | FromCSMS:
		return "FromStation|FromCSMS"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Action describes one OCPP action of a version: who sends it, the schemas of its request and
// response payloads, and constructors of the Go types they decode into (pointers to the
// generated structs, e.g. *v16.BootNotificationRequest).
type Action struct {
	Name        string
	Direction   Direction
	Request     *Schema
	Response    *Schema
	NewRequest  func() any
	NewResponse func() any
}

// Catalog is the set of actions of one protocol version. It is immutable after NewCatalog.
type Catalog struct {
	version ocpp.Version
	actions map[string]*Action
	sorted  []*Action
}

// NewCatalog builds the catalog of version v. Two actions with one name are a programming error
// in the generated tables, so it panics, as http.ServeMux does on a duplicate pattern.
func NewCatalog(v ocpp.Version, actions ...*Action) *Catalog {
	c := &Catalog{version: v, actions: make(map[string]*Action, len(actions))}
	for _, a := range actions {
		if _, dup := c.actions[a.Name]; dup {
			panic("schema: duplicate action " + a.Name + " in the " + string(v) + " catalog")
		}
		c.actions[a.Name] = a
		c.sorted = append(c.sorted, a)
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	return c
}

// Version is the protocol version the catalog describes.
func (c *Catalog) Version() ocpp.Version { return c.version }

// Lookup finds an action by its exact name ("BootNotification").
func (c *Catalog) Lookup(name string) (*Action, bool) {
	a, ok := c.actions[name]
	return a, ok
}

// Actions returns all actions sorted by name. The slice is a copy; the actions are shared.
func (c *Catalog) Actions() []*Action {
	out := make([]*Action, len(c.sorted))
	copy(out, c.sorted)
	return out
}

//go:build !linux

package ocppws

import "errors"

// poller is Linux-only (epoll). Elsewhere every connection keeps a reader goroutine waiting in
// the WebSocket library's read, as before: newPoller fails and conn.park never parks.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) register(*conn) error { return errors.ErrUnsupported }
func (*poller) arm(*conn) error      { return errors.ErrUnsupported }
func (*poller) forget(*conn)         {}
func (*poller) run()                 {}
func (*poller) close()               {}

//go:build linux

package perf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purebpf/purebpf/sys"
)

// poller waits for readiness of ring fds with epoll. A separate eventfd,
// also in the epoll set, lets Close wake a blocked wait.
type poller struct {
	epfd     int
	efd      int
	events   []unix.EpollEvent
	closed   atomic.Bool
	deadline atomic.Int64 // UnixNano; 0 means none

	fdMu     sync.Mutex // guards efd and epfd against use after close
	fdClosed bool
}

// wakeToken is the epoll data of the eventfd; ring indices are >= 0.
const wakeToken = -1

func newPoller(n int) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{epfd: epfd, efd: efd, events: make([]unix.EpollEvent, n+1)}
	if err := p.add(efd, wakeToken); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *poller) add(fd int, token int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: token}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl(ADD, fd %d): %w", fd, err)
	}
	return nil
}

// setDeadline changes the deadline, also for a wait in progress: the
// eventfd wakes it to recompute its timeout.
func (p *poller) setDeadline(t time.Time) {
	if t.IsZero() {
		p.deadline.Store(0)
	} else {
		p.deadline.Store(t.UnixNano())
	}
	p.kick()
}

// kick wakes a wait in progress through the eventfd.
func (p *poller) kick() {
	p.fdMu.Lock()
	defer p.fdMu.Unlock()
	if p.fdClosed {
		return
	}
	var one = [8]byte{1}
	_, _ = unix.Write(p.efd, one[:])
}

// read is the body of both readers' ReadInto: it hands out the next
// record pending finds, waiting on p until one is ready, the deadline
// passes or the reader is closed. After a failed wait it looks once more,
// so that data a wakeup watermark held back is handed out before the
// deadline error.
func (p *poller) read(rec *Record, pending func(*Record) (bool, error)) error {
	for {
		ok, err := pending(rec)
		if ok || err != nil {
			return err
		}
		if err := p.wait(); err != nil {
			if errors.Is(err, ErrClosed) {
				return ErrClosed
			}
			if ok, rerr := pending(rec); ok || rerr != nil {
				return rerr
			}
			return err
		}
	}
}

// wait blocks until a ring fd is readable, the deadline passes
// (os.ErrDeadlineExceeded) or the poller is woken by wake (ErrClosed).
func (p *poller) wait() error {
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		timeout := -1
		if d := p.deadline.Load(); d != 0 {
			left := time.Until(time.Unix(0, d))
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			// Round up so the deadline has passed when epoll returns.
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.EpollWait(p.epfd, p.events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		ready := false
		for _, ev := range p.events[:n] {
			if ev.Fd == wakeToken {
				// Closed, or the deadline changed: reset the eventfd
				// and let the loop decide.
				var buf [8]byte
				_, _ = unix.Read(p.efd, buf[:])
				continue
			}
			ready = true
		}
		if ready {
			return nil
		}
	}
}

// wake makes blocked and future waits return ErrClosed.
func (p *poller) wake() {
	p.closed.Store(true)
	p.kick()
}

// close releases the descriptors; no wait may be running.
func (p *poller) close() {
	p.fdMu.Lock()
	defer p.fdMu.Unlock()
	if p.fdClosed {
		return
	}
	p.fdClosed = true
	unix.Close(p.efd)
	unix.Close(p.epfd)
}

// onlineCPUs returns the CPUs online now (sys.OnlineCPUs).
func onlineCPUs() ([]int, error) { return sys.OnlineCPUs() }

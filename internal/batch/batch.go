// Package batch hands values from one goroutine to another in batches,
// reusing the batches: per-value channel sends cost more than the work on
// a busy feed, and a fresh batch per hand-over was a gigabyte of
// allocation, zeroing and scanning on a day of 10,000 ships.
package batch

// Pipe carries values of one producer to one consumer, in order.
type Pipe[T any] struct {
	size int
	buf  []T
	ch   chan []T
	free chan []T
}

// New returns a pipe handing over batches of size values.
func New[T any](size int) *Pipe[T] {
	return &Pipe[T]{size: size, buf: make([]T, 0, size), ch: make(chan []T, 8), free: make(chan []T, 10)}
}

// Put adds a value (producer side).
func (p *Pipe[T]) Put(v T) {
	p.buf = append(p.buf, v)
	if len(p.buf) >= p.size {
		p.ch <- p.buf
		select {
		case b := <-p.free:
			p.buf = b[:0]
		default:
			p.buf = make([]T, 0, p.size)
		}
	}
}

// Close hands over what is left and ends the consumer's Drain (producer
// side; call once).
func (p *Pipe[T]) Close() {
	if len(p.buf) > 0 {
		p.ch <- p.buf
	}
	p.buf = nil
	close(p.ch)
}

// Drain calls fn for every batch, in order, until Close (consumer side).
// fn must not keep the batch: it is cleared and reused.
func (p *Pipe[T]) Drain(fn func([]T)) {
	for b := range p.ch {
		fn(b)
		clear(b) // drop the references the values hold
		select {
		case p.free <- b:
		default:
		}
	}
}

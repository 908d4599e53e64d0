//! The discrete-event queue: events ordered by time, ties in the order they were scheduled.

use core::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// One scheduled event. Ordered by `(at, seq)` only; the payload takes no part.
#[derive(Debug)]
struct Entry<E> {
    at: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A min-queue of events by time (ms of simulated real time). Events at the same time come
/// out in the order they were pushed (FIFO), so a run is a pure function of its seed.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    now: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
        }
    }

    /// Schedules `event` at `at`. An event in the past is moved to the present: time never
    /// runs backwards.
    pub fn push(&mut self, at: u64, event: E) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at: at.max(self.now),
            seq: self.seq,
            event,
        }));
    }

    /// The earliest event and its time; advances the queue's clock to it.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse(e) = self.heap.pop()?;
        self.now = e.at;
        Some((e.at, e.event))
    }

    /// The time of the last event popped.
    #[cfg(test)]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of events waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (t, name) in [(30, "c"), (10, "a"), (20, "b"), (5, "first")] {
            q.push(t, name);
        }
        assert_eq!(q.len(), 4);
        let order: Vec<_> = core::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(5, "first"), (10, "a"), (20, "b"), (30, "c")]);
        assert!(q.is_empty());
        assert_eq!(q.now(), 30);
    }

    #[test]
    fn ties_are_fifo() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(7, i);
        }
        for i in 0..100 {
            assert_eq!(q.pop(), Some((7, i)));
        }
    }

    #[test]
    fn the_past_is_clamped_to_now() {
        let mut q = EventQueue::new();
        q.push(100, 'x');
        assert_eq!(q.pop(), Some((100, 'x')));
        q.push(50, 'y');
        assert_eq!(q.pop(), Some((100, 'y')));
    }

    #[test]
    fn random_schedules_come_out_sorted_and_complete() {
        let mut r = Rng::new(5);
        let mut q = EventQueue::new();
        let mut pushed = 0;
        let mut last = 0;
        let mut popped = 0;
        // Interleave pushes (relative to now, as a simulation does) and pops.
        for round in 0..10_000u64 {
            let now = q.now();
            q.push(now + r.range(0, 1_000), round);
            pushed += 1;
            if r.chance(0.5)
                && let Some((t, _)) = q.pop()
            {
                assert!(t >= last);
                last = t;
                popped += 1;
            }
        }
        while let Some((t, _)) = q.pop() {
            assert!(t >= last);
            last = t;
            popped += 1;
        }
        assert_eq!(pushed, popped);
    }

    #[test]
    fn interleaving_is_deterministic() {
        let run = || {
            let mut r = Rng::new(11);
            let mut q = EventQueue::new();
            let mut trace = Vec::new();
            for i in 0..50u32 {
                q.push(r.range(0, 20), i);
            }
            while let Some((t, e)) = q.pop() {
                trace.push((t, e));
                if e < 1_000 && r.chance(0.3) {
                    q.push(t + r.range(0, 5), e + 1_000);
                }
            }
            trace
        };
        assert_eq!(run(), run());
    }
}

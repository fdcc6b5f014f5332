//! Smooth weighted round robin (nginx's algorithm), precomputed into a sequence and walked
//! with one atomic counter, so picking a server takes no lock.
//!
//! nginx interleaves evenly: weights 5,1,1 give `a a b a c a a`, never `a a a a a b c`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest sequence kept; larger weight sums are scaled down proportionally.
const MAX_SEQUENCE: u64 = 1 << 14;

#[derive(Debug)]
pub(crate) struct Wrr {
    sequence: Box<[u32]>,
    next: AtomicUsize,
}

impl Wrr {
    /// `weights[i]` is server i's weight; 0 counts as 1 (Traefik 1.x without allowMinWeightZero).
    pub(crate) fn new(weights: &[u32]) -> Wrr {
        Wrr {
            sequence: smooth_sequence(weights).into_boxed_slice(),
            next: AtomicUsize::new(0),
        }
    }

    /// The next server for which `usable` holds, or `None` when none is usable.
    pub(crate) fn pick(&self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.sequence.len();
        if len == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..len)
            .map(|i| self.sequence[(start.wrapping_add(i)) % len] as usize)
            .find(|&idx| usable(idx))
    }
}

/// One full cycle of nginx's smooth weighted round robin over `weights`.
pub(crate) fn smooth_sequence(weights: &[u32]) -> Vec<u32> {
    let mut weights: Vec<u64> = weights.iter().map(|&w| u64::from(w.max(1))).collect();
    if weights.is_empty() {
        return Vec::new();
    }
    let g = weights.iter().copied().fold(0, gcd);
    weights.iter_mut().for_each(|w| *w /= g);
    let total: u64 = weights.iter().sum();
    if total > MAX_SEQUENCE {
        let scale = MAX_SEQUENCE as f64 / total as f64;
        weights
            .iter_mut()
            .for_each(|w| *w = ((*w as f64 * scale).round() as u64).max(1));
    }
    let total: i64 = weights.iter().map(|&w| w as i64).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (i, w) in weights.iter().enumerate() {
            current[i] += *w as i64;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        out.push(best as u32);
    }
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(weights: &[u32], picks: usize) -> Vec<usize> {
        let wrr = Wrr::new(weights);
        let mut counts = vec![0; weights.len()];
        for _ in 0..picks {
            counts[wrr.pick(|_| true).expect("a server")] += 1;
        }
        counts
    }

    #[test]
    fn shares_follow_weights_within_one_percent() {
        for weights in [
            &[1, 1][..],
            &[3, 1],
            &[5, 1, 1],
            &[10, 3, 2, 1],
            &[100, 1],
            &[7, 7, 7],
        ] {
            let counts = shares(weights, 10_000);
            let total: u32 = weights.iter().sum();
            for (i, &w) in weights.iter().enumerate() {
                let want = f64::from(w) / f64::from(total);
                let got = counts[i] as f64 / 10_000.0;
                assert!(
                    (got - want).abs() <= 0.01,
                    "weights {weights:?}: server {i} got {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn equal_weights_never_repeat_a_server() {
        let wrr = Wrr::new(&[1, 1, 1]);
        let mut last = None;
        for _ in 0..10_000 {
            let pick = wrr.pick(|_| true);
            assert_ne!(pick, last);
            last = pick;
        }
    }

    #[test]
    fn interleaves_smoothly_like_nginx() {
        assert_eq!(smooth_sequence(&[5, 1, 1]), vec![0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(smooth_sequence(&[2, 2]), vec![0, 1]);
    }

    #[test]
    fn zero_weight_counts_as_one_and_unusable_servers_are_skipped() {
        assert_eq!(shares(&[0, 1], 1000), vec![500, 500]);
        let wrr = Wrr::new(&[1, 1, 1]);
        for _ in 0..100 {
            assert_ne!(wrr.pick(|i| i != 1), Some(1));
        }
        assert_eq!(wrr.pick(|_| false), None);
        assert_eq!(Wrr::new(&[]).pick(|_| true), None);
    }

    #[test]
    fn huge_weights_stay_bounded() {
        let seq = smooth_sequence(&[1_000_000, 999_999, 1]);
        assert!(seq.len() as u64 <= MAX_SEQUENCE + 3);
        assert!(seq.contains(&2));
    }
}

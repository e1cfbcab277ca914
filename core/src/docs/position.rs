//! Fractional indexing: positions are strings that sort in byte order, and there is
//! always room for a new one between any two. Moving an item only rewrites its own
//! position, so concurrent moves can never duplicate or lose it.
//!
//! Digits are base 62 (`0-9A-Za-z`, in ASCII order). A new position is the shortest
//! midpoint plus two jitter digits taken from the item's id, so two devices that move
//! different items to the same spot concurrently almost never produce equal strings
//! (equal ones are still ordered by item id). Jitter digits are never `0`, so no
//! position ends in `0` and there is always room before it.

const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: u8 = 62;
/// Longest midpoint computed; beyond this the key is simply extended (never in practice).
const MAX_LEN: usize = 4096;

fn value(c: u8) -> u8 {
    DIGITS.iter().position(|&d| d == c).map_or(0, |p| p as u8)
}

/// A position strictly between `a` and `b` (either may be absent: the start or the end
/// of the list). Defensive on bad input: if `a >= b`, the result only follows `a`.
pub(crate) fn between(a: Option<&str>, b: Option<&str>, jitter: &[u8]) -> String {
    let jitter = jitter
        .iter()
        .take(2)
        .map(|j| DIGITS[usize::from(1 + j % (BASE - 1))] as char);
    if a.is_none() && b.is_none() {
        // The first item goes in the middle, leaving room on both sides.
        return std::iter::once('V').chain(jitter).collect();
    }
    let prepending = a.is_none();
    let a: Vec<u8> = a.unwrap_or("").bytes().map(value).collect();
    let mut b: Option<Vec<u8>> = b.map(|b| b.bytes().map(value).collect());
    if b.as_ref()
        .is_some_and(|upper| upper.as_slice() <= a.as_slice())
    {
        b = None;
    }
    let mut out = Vec::new();
    for i in 0..MAX_LEN {
        let lo = a.get(i).copied().unwrap_or(0);
        let hi = match &b {
            Some(upper) => upper.get(i).copied().unwrap_or(0),
            None => BASE,
        };
        if hi > lo + 1 {
            // At an open end, step by one digit instead of halving: appending or
            // prepending n times then grows keys by one digit per ~30 inserts.
            let digit = match (&b, prepending) {
                (None, false) => lo + 1,
                // Prepending, and already below `b`: as high as possible.
                (None, true) => BASE - 1,
                (Some(_), true) => hi - 1,
                (Some(_), false) => lo + (hi - lo) / 2,
            };
            out.push(digit);
            break;
        }
        out.push(lo);
        if hi == lo + 1 {
            // Take `lo` here; anything longer is now below `b`, so only `a` bounds it.
            b = None;
        }
    }
    out.into_iter()
        .map(|v| DIGITS[usize::from(v)] as char)
        .chain(jitter)
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn examples() {
        let first = between(None, None, &[]);
        assert_eq!(first, "V");
        let after = between(Some(&first), None, &[]);
        assert!(after > first);
        let before = between(None, Some(&first), &[]);
        assert!(before < first);
        let mid = between(Some("1"), Some("1V"), &[7, 9]);
        assert!(mid.as_str() > "1" && mid.as_str() < "1V", "{mid}");
        // Bad input does not panic and still follows `a`.
        assert!(between(Some("b"), Some("a"), &[]).as_str() > "b");
        assert!(between(Some("a"), Some("a"), &[1]).as_str() > "a");
    }

    #[test]
    fn repeated_inserts_stay_short() {
        // Appending or prepending 1000 times grows keys by about one digit per 30
        // inserts. (Inserting again and again at one middle spot grows them by about
        // one digit per 6 inserts, a known limit of fractional indexing.)
        let mut last = between(None, None, &[3, 4]);
        for _ in 0..1000 {
            last = between(Some(&last), None, &[3, 4]);
        }
        assert!(last.len() < 60, "append: {}", last.len());
        let mut first = between(None, None, &[3, 4]);
        for _ in 0..1000 {
            first = between(None, Some(&first), &[3, 4]);
        }
        assert!(first.len() < 60, "prepend: {}", first.len());
    }

    proptest! {
        #[test]
        fn always_strictly_between(a in "[0-9A-Za-z]{0,8}[1-9A-Za-z]", b in "[0-9A-Za-z]{0,8}[1-9A-Za-z]", j in any::<[u8; 2]>()) {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            prop_assume!(lo != hi);
            let mid = between(Some(&lo), Some(&hi), &j);
            prop_assert!(mid > lo && mid < hi, "{} < {} < {}", lo, mid, hi);
            prop_assert!(!mid.ends_with('0'));
        }
    }
}

//! Turning what a person typed (a name, an id, an id prefix) into one thing.

use crate::api::{ApiError, ErrorKind};

/// Shortest id prefix accepted, in hex characters.
const MIN_PREFIX: usize = 4;

/// Picks the one candidate `query` names. In order: the exact id; the exact name; the
/// name ignoring case; a unique id prefix of at least four characters.
///
/// `what` names the kind ("group", "pad", …) and `hint` is the command that lists them.
pub(super) fn resolve<T>(
    what: &str,
    query: &str,
    candidates: Vec<(String, String, T)>,
    hint: &str,
) -> Result<T, ApiError> {
    let query = query.trim();
    let lower = query.to_lowercase();
    type Rule<'a, T> = &'a dyn Fn(&(String, String, T)) -> bool;
    let rules: [Rule<'_, T>; 4] = [
        &|(id, _, _)| id == query,
        &|(_, name, _)| name == query,
        &|(_, name, _)| name.to_lowercase() == lower,
        &|(id, _, _)| query.len() >= MIN_PREFIX && id.starts_with(&lower),
    ];
    let mut candidates = candidates;
    for rule in rules {
        let matched: Vec<usize> = (0..candidates.len())
            .filter(|&i| rule(&candidates[i]))
            .collect();
        match matched.as_slice() {
            [] => continue,
            [one] => return Ok(candidates.swap_remove(*one).2),
            many => {
                let ids: Vec<String> = many
                    .iter()
                    .take(5)
                    .map(|&i| candidates[i].0[..8].to_owned())
                    .collect();
                return Err(ApiError::new(
                    ErrorKind::Ambiguous,
                    format!(
                        "`{query}` matches {} {what}s ({}…); use a longer id",
                        many.len(),
                        ids.join("…, ")
                    ),
                ));
            }
        }
    }
    Err(ApiError::new(
        ErrorKind::NotFound,
        format!("no {what} `{query}`; {hint}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<(String, String, u8)> {
        vec![
            ("aaaa1111".into(), "Notes".into(), 1),
            ("aaaa2222".into(), "notes".into(), 2),
            ("bbbb3333".into(), "Plans".into(), 3),
        ]
    }

    #[test]
    fn ids_names_and_prefixes() {
        assert_eq!(resolve("pad", "aaaa2222", items(), "").unwrap(), 2);
        assert_eq!(resolve("pad", "Notes", items(), "").unwrap(), 1);
        assert_eq!(resolve("pad", "plans", items(), "").unwrap(), 3);
        assert_eq!(resolve("pad", "bbbb", items(), "").unwrap(), 3);
        assert_eq!(
            resolve("pad", "NOTES", items(), "").unwrap_err().kind,
            ErrorKind::Ambiguous
        );
        assert_eq!(
            resolve("pad", "aaaa", items(), "").unwrap_err().kind,
            ErrorKind::Ambiguous
        );
        // Too short to be a prefix.
        assert_eq!(
            resolve("pad", "bbb", items(), "").unwrap_err().kind,
            ErrorKind::NotFound
        );
        let err = resolve("pad", "Minutes", items(), "see `plenum pad list`").unwrap_err();
        assert_eq!(err.message, "no pad `Minutes`; see `plenum pad list`");
    }
}

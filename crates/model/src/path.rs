//! Request path normalisation, done before routing so that the frontend chosen and the path
//! the backend receives always agree (`/music/../admin` must not reach the music backend as
//! `/admin`), and again after every strip or rewrite. Dot segments are resolved (also `%2e`
//! spellings), runs of `/` are merged, and a path climbing above the root is refused. `%2F`
//! stays encoded.

use std::borrow::Cow;

/// The normalised path, or `None` when it climbs above the root (answer 400).
pub fn normalize(path: &str) -> Option<Cow<'_, str>> {
    let suspicious = path.contains("//")
        || path.contains("/.")
        || path.contains("%2e")
        || path.contains("%2E")
        || !path.starts_with('/');
    if !suspicious {
        return Some(Cow::Borrowed(path));
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match dots(seg) {
            Some(1) => {}
            Some(2) => {
                out.pop()?;
            }
            _ if seg.is_empty() => {}
            _ => out.push(seg),
        }
        // "/a/." and "/a/" keep their trailing slash; so does "/a/..".
        if i == last && (seg.is_empty() || dots(seg).is_some()) && !out.is_empty() {
            out.push("");
        }
    }
    let mut s = String::with_capacity(path.len());
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if s.is_empty() {
        s.push('/');
    }
    if s == path {
        // Looked suspicious (`/.well-known/…`) but was already normal: nothing to rebuild.
        return Some(Cow::Borrowed(path));
    }
    Some(Cow::Owned(s))
}

/// 1 for `.`, 2 for `..` (in any `%2e` spelling), else `None`.
fn dots(seg: &str) -> Option<usize> {
    let lower = seg.to_ascii_lowercase();
    match lower.as_str() {
        "." | "%2e" => Some(1),
        ".." | ".%2e" | "%2e." | "%2e%2e" => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::borrow::Cow;

    #[test]
    fn resolves_dots_and_merges_slashes() {
        let cases = [
            ("/", "/"),
            ("/music/1", "/music/1"),
            ("/music/../admin", "/admin"),
            ("/music/%2e%2e/admin", "/admin"),
            ("/music/%2E%2e/admin", "/admin"),
            ("/music/./x", "/music/x"),
            ("//admin", "/admin"),
            ("/music//x", "/music/x"),
            ("/a/b/..", "/a/"),
            ("/a/b/", "/a/b/"),
            ("/music%2F..%2Fadmin", "/music%2F..%2Fadmin"),
            ("/a/..", "/"),
            ("/.well-known/x", "/.well-known/x"),
            ("/music/..2e%/%2E/./a//b/", "/music/..2e%/a/b/"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
            let again = normalize(want);
            assert!(
                matches!(again, Some(Cow::Borrowed(p)) if p == want),
                "{want} is its own normal form, borrowed: {again:?}"
            );
        }
    }

    #[test]
    fn refuses_paths_above_the_root() {
        assert_eq!(normalize("/../../etc/passwd"), None);
        assert_eq!(normalize("/a/../../b"), None);
    }
}

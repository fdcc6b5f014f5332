//! Fuzz target: the request path normaliser. A result starts with `/`, has no empty, `.` or
//! `..` segment (in any `%2e` spelling) except a trailing empty one, and is its own
//! normal form; `None` only for a path that climbs above the root.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use portier_model::path::normalize;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Some(out) = normalize(path) else {
        assert!(climbs(path), "refused {path:?}, which stays under the root");
        return;
    };
    assert!(out.starts_with('/'), "{path:?} → {out:?}");
    let inner = out.trim_end_matches('/');
    for seg in inner.split('/').skip(1) {
        let lower = seg.to_ascii_lowercase();
        assert!(!seg.is_empty(), "{path:?} → {out:?}: an empty segment");
        assert!(
            !matches!(lower.replace("%2e", ".").as_str(), "." | ".."),
            "{path:?} → {out:?}: a dot segment"
        );
    }
    assert!(
        matches!(normalize(&out), Some(Cow::Borrowed(again)) if again == out),
        "{path:?} → {out:?} is not its own normal form"
    );
});

/// Whether more `..` segments than names come before some point of the path.
fn climbs(path: &str) -> bool {
    let mut depth = 0i64;
    for seg in path.split('/') {
        match seg.to_ascii_lowercase().replace("%2e", ".").as_str() {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

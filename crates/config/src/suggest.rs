//! "Did you mean …?": the closest known name to a misspelt one (Jaro-Winkler from `strsim`,
//! case ignored).

/// The candidate most like `typo`, when it is close enough to be the likely intent.
pub fn did_you_mean<'a>(
    typo: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let typo = typo.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&typo, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_the_closest_name_or_none() {
        let names = ["exposedByDefault", "endpoint", "domain", "watch"];
        assert_eq!(
            did_you_mean("exposedbydefualt", names),
            Some("exposedByDefault")
        );
        assert_eq!(did_you_mean("endpont", names), Some("endpoint"));
        assert_eq!(did_you_mean("zzzzzz", names), None);
    }
}

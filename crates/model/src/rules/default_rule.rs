//! `providers.docker.defaultRule`: the Go template Traefik 2/3 renders for a container without
//! a rule (``Host(`{{ normalize .Name }}`)`` by default). portier renders the actions users
//! write there: `{{ .Name }}`, `{{ .ContainerName }}`, `{{ normalize X }}`,
//! `{{ index .Labels "key" }}`; any other action is refused when the configuration loads.

use std::collections::BTreeMap;

/// Traefik's default.
pub const DEFAULT: &str = "Host(`{{ normalize .Name }}`)";

/// What a template sees of a container.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    /// The service name (compose `service_project`, normalised).
    pub name: &'a str,
    pub container_name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// Checks that every action of `template` is one portier renders.
pub fn check(template: &str) -> Result<(), String> {
    let labels = BTreeMap::new();
    let model = Model {
        name: "x",
        container_name: "x",
        labels: &labels,
    };
    render(template, &model).map(|_| ())
}

/// Renders `template` for a container.
pub fn render(template: &str, m: &Model<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "{{{{ at {} is never closed",
                template.len() - rest.len() + open
            )
        })?;
        let action = after[..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        out.push_str(&action_value(action, m)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn action_value(action: &str, m: &Model<'_>) -> Result<String, String> {
    let words = split_words(action);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["normalize", inner @ ..] => Ok(normalize(&value(inner, m, action)?)),
        other => value(other, m, action),
    }
}

fn value(words: &[&str], m: &Model<'_>, action: &str) -> Result<String, String> {
    match words {
        [".Name"] => Ok(m.name.to_string()),
        [".ContainerName"] => Ok(m.container_name.to_string()),
        ["index", ".Labels", key] => Ok(m
            .labels
            .get(key.trim_matches('"'))
            .cloned()
            .unwrap_or_default()),
        _ => Err(format!(
            "template action {{{{ {action} }}}} is not one portier renders (.Name, .ContainerName, normalize, index .Labels \"key\")"
        )),
    }
}

/// Words of an action; a quoted string is one word, quotes kept.
fn split_words(action: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in action.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Traefik's `Normalize`: runs of characters other than letters and digits become one `-`.
pub fn normalize(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_users_write() {
        let labels = BTreeMap::from([("app".to_string(), "shop".to_string())]);
        let m = Model {
            name: "web_proj",
            container_name: "proj-web-1",
            labels: &labels,
        };
        assert_eq!(render(DEFAULT, &m).as_deref(), Ok("Host(`web-proj`)"));
        assert_eq!(
            render("Host(`{{ .ContainerName }}.example.com`)", &m).as_deref(),
            Ok("Host(`proj-web-1.example.com`)")
        );
        assert_eq!(
            render("Host(`{{ index .Labels \"app\" }}.local`)", &m).as_deref(),
            Ok("Host(`shop.local`)")
        );
        assert!(check("Host(`{{ .Name | lower }}`)").is_err());
        assert!(check("Host(`{{ .Name `)").is_err());
    }
}

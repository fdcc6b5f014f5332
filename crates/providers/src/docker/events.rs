//! Docker events → what changed. Pure.

use bollard::models::{EventMessage, EventMessageTypeEnum};

/// What an event means for the container cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Re-inspect this container (it started, was renamed, changed health or networks).
    Refresh(String),
    /// It is stopping: take it out of rotation now, before it exits.
    Stopping(String),
    Paused(String),
    /// It is gone (died or destroyed).
    Remove(String),
    Ignore,
}

/// Signals that end a container; a `kill` with another signal (e.g. HUP for a reload) is not
/// a stop.
const STOP_SIGNALS: [&str; 8] = [
    "15", "9", "2", "3", "SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT",
];

pub fn classify(ev: &EventMessage) -> Change {
    let Some(actor) = &ev.actor else {
        return Change::Ignore;
    };
    let action = ev.action.as_deref().unwrap_or("");
    let attr = |k: &str| actor.attributes.as_ref().and_then(|a| a.get(k)).cloned();
    match ev.typ {
        Some(EventMessageTypeEnum::CONTAINER) => {
            let Some(id) = actor.id.clone() else {
                return Change::Ignore;
            };
            match action {
                "start" | "unpause" | "restart" | "rename" | "update" => Change::Refresh(id),
                a if a.starts_with("health_status") => Change::Refresh(id),
                "stop" => Change::Stopping(id),
                "kill" => match attr("signal") {
                    Some(sig) if !STOP_SIGNALS.contains(&sig.as_str()) => Change::Ignore,
                    _ => Change::Stopping(id),
                },
                "pause" => Change::Paused(id),
                "die" | "destroy" | "oom" => Change::Remove(id),
                _ => Change::Ignore,
            }
        }
        Some(EventMessageTypeEnum::NETWORK) if action == "connect" || action == "disconnect" => {
            attr("container").map_or(Change::Ignore, Change::Refresh)
        }
        _ => Change::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn ev(typ: EventMessageTypeEnum, action: &str, attrs: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some("c1".into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..EventMessage::default()
        }
    }

    #[test]
    fn classifies_container_events() {
        use EventMessageTypeEnum::CONTAINER as C;
        let id = || "c1".to_string();
        assert_eq!(classify(&ev(C, "start", &[])), Change::Refresh(id()));
        assert_eq!(
            classify(&ev(C, "health_status: healthy", &[])),
            Change::Refresh(id())
        );
        assert_eq!(
            classify(&ev(C, "kill", &[("signal", "15")])),
            Change::Stopping(id())
        );
        assert_eq!(
            classify(&ev(C, "kill", &[("signal", "9")])),
            Change::Stopping(id())
        );
        assert_eq!(
            classify(&ev(C, "kill", &[("signal", "1")])),
            Change::Ignore,
            "HUP is a reload"
        );
        assert_eq!(
            classify(&ev(C, "kill", &[("signal", "SIGHUP")])),
            Change::Ignore
        );
        assert_eq!(
            classify(&ev(C, "kill", &[("signal", "SIGTERM")])),
            Change::Stopping(id())
        );
        assert_eq!(classify(&ev(C, "stop", &[])), Change::Stopping(id()));
        assert_eq!(classify(&ev(C, "pause", &[])), Change::Paused(id()));
        assert_eq!(classify(&ev(C, "unpause", &[])), Change::Refresh(id()));
        assert_eq!(classify(&ev(C, "die", &[])), Change::Remove(id()));
        assert_eq!(classify(&ev(C, "destroy", &[])), Change::Remove(id()));
        assert_eq!(classify(&ev(C, "exec_start: sh", &[])), Change::Ignore);
    }

    #[test]
    fn network_events_refresh_their_container() {
        let e = ev(
            EventMessageTypeEnum::NETWORK,
            "connect",
            &[("container", "abc")],
        );
        assert_eq!(classify(&e), Change::Refresh("abc".into()));
        let e = ev(EventMessageTypeEnum::NETWORK, "create", &[]);
        assert_eq!(classify(&e), Change::Ignore);
    }
}

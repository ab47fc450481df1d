//! The headless agent's answer to "ask": a desktop notification with actions (freedesktop
//! notifications over the session bus), for a desktop where the app is not running. Only where
//! a notification daemon already runs and says it shows actions; otherwise nobody can be
//! asked, and the door refuses at once. The desktop app, serving as the agent, asks in its own
//! window instead (src-tauri/src/asking.rs).

use crate::door::ask::{ANSWER_WITHIN, Answer, Asker, Asking, Question};

/// The notification's actions: their keys (what the daemon sends back) and labels.
const ACTIONS: [(&str, &str); 3] = [
    ("allow-once", "Allow once"),
    ("allow-hour", "Allow for 1 hour"),
    ("deny", "Deny"),
];

/// The answer an action's key stands for.
pub fn answer_of(key: &str) -> Option<Answer> {
    match key {
        "allow-once" => Some(Answer::AllowOnce),
        "allow-hour" => Some(Answer::AllowForAnHour),
        "deny" => Some(Answer::Deny),
        _ => None,
    }
}

/// The question as a notification: plain text, with what a daemon may read as markup escaped
/// (a program's path or a destination may hold `<` or `&`). Names were sanitised by the door.
pub fn text(q: &Question) -> (String, String) {
    let escape = crate::model::untrusted::markup_escaped;
    let pid = q.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    (
        "Latchkey: allow a token?".to_string(),
        format!(
            "{}{pid} asks for the {} token of {} ({}).",
            escape(&q.program),
            q.purpose.as_str(),
            escape(&q.account),
            escape(&q.arrival)
        ),
    )
}

/// Asks by desktop notification.
pub struct NotificationAsker;

impl Asker for NotificationAsker {
    fn ask(&self, question: Question) -> Asking {
        #[cfg(target_os = "linux")]
        {
            Box::pin(linux::ask(question))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = question;
            Box::pin(std::future::ready(None))
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;

    use futures_util::StreamExt;
    use tokio::sync::oneshot;
    use zbus::zvariant::Value;

    use super::{ACTIONS, ANSWER_WITHIN, Answer, Question, answer_of, text};

    const NAME: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";

    /// How long the bus and the daemon may take to say whether it shows actions: a daemon that
    /// owns its name but does not answer is nobody to ask.
    const DAEMON_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

    /// Whether a daemon runs and shows actions: asked on the bus, never started by it (a daemon
    /// started on demand without a display would only fail).
    async fn daemon_shows_actions() -> Option<zbus::Connection> {
        let connection = zbus::Connection::session().await.ok()?;
        let dbus = zbus::fdo::DBusProxy::new(&connection).await.ok()?;
        let name = zbus::names::BusName::try_from(NAME).ok()?;
        if !dbus.name_has_owner(name).await.ok()? {
            return None;
        }
        let reply = connection
            .call_method(Some(NAME), PATH, Some(NAME), "GetCapabilities", &())
            .await
            .ok()?;
        let caps: Vec<String> = reply.body().deserialize().ok()?;
        caps.iter().any(|c| c == "actions").then_some(connection)
    }

    pub async fn ask(question: Question) -> Option<oneshot::Receiver<Answer>> {
        let connection = tokio::time::timeout(DAEMON_WITHIN, daemon_shows_actions())
            .await
            .ok()??;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            // Bounded whatever the daemon does: the door stops waiting after ANSWER_WITHIN.
            let within = ANSWER_WITHIN + DAEMON_WITHIN * 2;
            let shown = notify_and_wait(&connection, &question, tx);
            if let Ok(Err(e)) = tokio::time::timeout(within, shown).await {
                eprintln!("latchkey agent: the access question could not be shown: {e}");
            }
        });
        Some(rx)
    }

    /// Shows the notification and sends the answer its action gives. Unanswered within
    /// [`ANSWER_WITHIN`], or when the door stops waiting, it is closed.
    async fn notify_and_wait(
        connection: &zbus::Connection,
        question: &Question,
        mut tx: oneshot::Sender<Answer>,
    ) -> zbus::Result<()> {
        let proxy = zbus::Proxy::new(connection, NAME, PATH, NAME).await?;
        // Subscribed before the notification exists, so no click is missed.
        let mut invoked = proxy.receive_signal("ActionInvoked").await?;
        let mut closed = proxy.receive_signal("NotificationClosed").await?;
        let (summary, body) = text(question);
        let actions: Vec<&str> = ACTIONS.iter().flat_map(|(k, l)| [*k, *l]).collect();
        // Critical urgency: the question stays until answered (daemons do not expire it).
        let hints = HashMap::from([("urgency", Value::U8(2))]);
        let id: u32 = proxy
            .call(
                "Notify",
                &(
                    "Latchkey",
                    0u32,
                    "dialog-password",
                    summary.as_str(),
                    body.as_str(),
                    actions,
                    hints,
                    -1i32,
                ),
            )
            .await?;
        let answer = async {
            loop {
                tokio::select! {
                    Some(signal) = invoked.next() => {
                        if let Ok((n, key)) = signal.body().deserialize::<(u32, String)>()
                            && n == id
                            && let Some(answer) = answer_of(&key)
                        {
                            return Some(answer);
                        }
                    }
                    Some(signal) = closed.next() => {
                        // Dismissed without an answer.
                        if signal.body().deserialize::<(u32, u32)>().is_ok_and(|(n, _)| n == id) {
                            return None;
                        }
                    }
                    else => return None,
                }
            }
        };
        let answer = tokio::select! {
            a = answer => a,
            () = tokio::time::sleep(ANSWER_WITHIN) => None,
            () = tx.closed() => None,
        };
        match answer {
            Some(a) => {
                let _ = tx.send(a);
            }
            None => {
                let args = (id,);
                let close = proxy.call::<_, _, ()>("CloseNotification", &args);
                let _ = tokio::time::timeout(DAEMON_WITHIN, close).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::door::Purpose;

    #[test]
    fn the_question_is_plain_text_and_every_action_has_an_answer() {
        let q = Question {
            account: "work/<me>&co".into(),
            program: "/usr/bin/py<thon>".into(),
            pid: Some(42),
            purpose: Purpose::Token,
            arrival: "agent".into(),
        };
        let (_, body) = text(&q);
        assert!(body.contains("/usr/bin/py&lt;thon&gt; (pid 42)"), "{body}");
        assert!(body.contains("work/&lt;me&gt;&amp;co"), "{body}");
        for (key, _) in ACTIONS {
            assert!(answer_of(key).is_some(), "{key}");
        }
        // An action the notification never offered (a daemon's "default") answers nothing.
        assert_eq!(answer_of("default"), None);
    }
}

//! A desktop notification from the headless agent when an account needs a new sign-in
//! (`invalid_grant` during a background refresh): freedesktop notifications over the session
//! bus. Only where a notification daemon already runs: the call asks the bus not to start one
//! (a daemon started on demand without a display would only fail), and any failure, no session
//! bus or no daemon, is silent: the CLI reports the state at the next `token` regardless.
//! The desktop app, serving as the agent, shows its own notification instead.

/// Tells the user that `account` needs `latchkey login PROFILE`, without waiting for it.
pub fn needs_sign_in(account: &str, profile: &str) {
    #[cfg(target_os = "linux")]
    {
        let (account, profile) = (account.to_string(), profile.to_string());
        tokio::task::spawn_blocking(move || {
            let _ = send(&account, &profile);
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (account, profile);
}

/// The notification's text: plain, with the markup characters a daemon may interpret escaped
/// (names are the user's own, but a label may hold `<` or `&`).
pub fn text(account: &str, profile: &str) -> (String, String) {
    let escape = crate::model::untrusted::markup_escaped;
    // The label too: a plain sign-in may make an account of another name.
    let label = account.split_once('/').map(|(_, label)| label);
    let command = crate::api::integrations::login_command(profile, label);
    (
        "Latchkey: sign in again".to_string(),
        format!(
            "The provider no longer accepts the sign-in of {}. Run `{}`.",
            escape(account),
            escape(&command)
        ),
    )
}

#[cfg(target_os = "linux")]
fn send(account: &str, profile: &str) -> zbus::Result<()> {
    use std::collections::HashMap;
    use zbus::Message;
    use zbus::message::Flags;
    use zbus::zvariant::Value;

    let (summary, body) = text(account, profile);
    let connection = zbus::blocking::Connection::session()?;
    let message = Message::method_call("/org/freedesktop/Notifications", "Notify")?
        .destination("org.freedesktop.Notifications")?
        .interface("org.freedesktop.Notifications")?
        .with_flags(Flags::NoAutoStart)?
        .build(&(
            "Latchkey",
            0u32,
            "dialog-password",
            summary.as_str(),
            body.as_str(),
            Vec::<&str>::new(),
            HashMap::<&str, Value<'_>>::new(),
            -1i32,
        ))?;
    connection.send(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_the_account_and_the_command_with_markup_escaped() {
        let (summary, body) = text("work/<me>&co", "work");
        assert_eq!(summary, "Latchkey: sign in again");
        assert!(body.contains("work/&lt;me&gt;&amp;co"), "{body}");
        assert!(
            body.contains("`latchkey login work --account '&lt;me&gt;&amp;co'`"),
            "{body}"
        );
    }
}

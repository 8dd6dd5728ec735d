//! Accounts as people change them: an admin's users (create, edit, delete, disable, enable,
//! reset a password, end a sign-in) and one's own password and sign-ins. The rules (admins
//! only, not oneself, the password policy, failed current passwords throttled) live here once,
//! for the JSON API and the pages alike; the last-admin rule is the account store's.

use std::net::IpAddr;

use super::policy::require_admin;
use super::Ctx;
use crate::server::accounts::{random_password, Account, AccountError, Role, SessionInfo, User};
use crate::server::problem::{say, Problem};
use crate::server::throttle::Wait;

/// A user as an admin writes one: roles as words (`admin`, `analyst`, `applicant`, an actor id).
pub struct UserInput {
    pub name: String,
    /// Empty or absent: the user name.
    pub display: Option<String>,
    pub roles: Vec<String>,
}

impl UserInput {
    fn user(&self, ctx: &Ctx<'_>) -> Result<User, Problem> {
        let display = self.display.as_deref().map(str::trim).filter(|d| !d.is_empty()).unwrap_or(&self.name);
        Ok(User { name: self.name.clone(), display: display.to_string(), roles: parse_roles(&self.roles, ctx)? })
    }
}

/// Role words to roles; at least one.
fn parse_roles(roles: &[String], ctx: &Ctx<'_>) -> Result<Vec<Role>, Problem> {
    let mut out = Vec::new();
    for role in roles {
        out.push(
            Role::parse(role).map_err(|e| Problem::invalid(say(ctx.lang, &format!("Peran tidak dikenal: {e}"), &e)))?,
        );
    }
    if out.is_empty() {
        return Err(Problem::invalid(say(ctx.lang, "Berikan setidaknya satu peran.", "Give at least one role.")));
    }
    Ok(out)
}

fn account_problem(ctx: &Ctx<'_>) -> impl Fn(AccountError) -> Problem {
    let lang = ctx.lang;
    move |e| Problem::account(&e, lang)
}

/// A password a person sets must pass the policy; the problem names the form field.
fn check_password(ctx: &Ctx<'_>, name: &str, password: &str, field: &str) -> Result<(), Problem> {
    super::commands::check_password(name, password, ctx.lang).map_err(|p| p.with("field", field.into()))
}

/// Every account (admins).
pub async fn users(ctx: &Ctx<'_>) -> Result<Vec<Account>, Problem> {
    require_admin(ctx.user, ctx.lang)?;
    ctx.state.accounts.accounts().await.map_err(account_problem(ctx))
}

/// A user's account (admins); 404 for a name nobody has.
pub async fn user(ctx: &Ctx<'_>, name: &str) -> Result<Account, Problem> {
    require_admin(ctx.user, ctx.lang)?;
    let asked = name.to_string();
    match ctx.state.accounts.account(&asked).await.map_err(account_problem(ctx))? {
        Some(account) => Ok(account),
        None => Err(Problem::account(&AccountError::Unknown(asked), ctx.lang)),
    }
}

/// Creates a user with a password the policy accepts (admins).
pub async fn create_user(ctx: &Ctx<'_>, input: &UserInput, password: &str, must_change: bool) -> Result<User, Problem> {
    require_admin(ctx.user, ctx.lang)?;
    let user = input.user(ctx)?;
    if password.is_empty() {
        return Err(Problem::invalid(say(ctx.lang, "Kata sandi wajib diisi.", "A password is required."))
            .with("field", "password".into()));
    }
    check_password(ctx, &user.name, password, "password")?;
    ctx.state.accounts.create_account(&user, password, must_change).await.map_err(account_problem(ctx))?;
    Ok(user)
}

/// Changes a user's display name and roles, and with a password an admin's reset (admins).
/// Their sign-ins end.
pub async fn update_user(ctx: &Ctx<'_>, input: &UserInput, password: Option<&str>) -> Result<User, Problem> {
    require_admin(ctx.user, ctx.lang)?;
    let user = input.user(ctx)?;
    if let Some(password) = password {
        check_password(ctx, &user.name, password, "password")?;
    }
    ctx.state.accounts.update_user(&user, password).await.map_err(account_problem(ctx))?;
    Ok(user)
}

/// Deletes a user (admins; not oneself, not the last admin).
pub async fn delete_user(ctx: &Ctx<'_>, name: &str) -> Result<(), Problem> {
    require_admin(ctx.user, ctx.lang)?;
    if name == ctx.user.name {
        return Err(Problem::conflict(say(
            ctx.lang,
            "Admin tidak dapat menghapus dirinya sendiri.",
            "An admin cannot delete themselves.",
        )));
    }
    let deleted = name.to_string();
    ctx.state.accounts.delete_user(&deleted).await.map_err(account_problem(ctx))
}

/// Disables a user (they cannot sign in; their sign-ins end) or enables them again (admins;
/// an admin does not disable themselves, nor the last admin who can sign in).
pub async fn set_disabled(ctx: &Ctx<'_>, name: &str, disabled: bool) -> Result<(), Problem> {
    require_admin(ctx.user, ctx.lang)?;
    if disabled && name == ctx.user.name {
        return Err(Problem::conflict(say(
            ctx.lang,
            "Admin tidak dapat menonaktifkan dirinya sendiri.",
            "An admin cannot disable themselves.",
        )));
    }
    let changed = name.to_string();
    ctx.state.accounts.set_disabled(&changed, disabled).await.map_err(account_problem(ctx))
}

/// An admin's reset: the given password (or a made one) becomes the user's, their sign-ins
/// end, and they must change it at their next sign-in. Answers the made password, to be shown
/// this once.
pub async fn reset_password(ctx: &Ctx<'_>, name: &str, given: Option<String>) -> Result<Option<String>, Problem> {
    require_admin(ctx.user, ctx.lang)?;
    let (password, made) = match given {
        Some(password) => {
            check_password(ctx, name, &password, "password")?;
            (password, false)
        }
        None => (random_password(), true),
    };
    let user = name.to_string();
    ctx.state.accounts.reset_password(&user, &password).await.map_err(account_problem(ctx))?;
    Ok(made.then_some(password))
}

/// Changes the caller's own password, signed in with `token` (that sign-in goes on, every other
/// one ends). A wrong current password counts as a failed sign-in of the user from `addr`, so
/// guessing is throttled as signing in is.
pub async fn change_own_password(
    ctx: &Ctx<'_>,
    addr: Option<IpAddr>,
    token: &str,
    old: &str,
    new: &str,
) -> Result<(), Problem> {
    let state = ctx.state;
    let name = ctx.user.name.clone();
    let now = state.engine.now();
    if let Err(Wait(seconds)) = state.throttle.check(&name, addr, now) {
        return Err(Problem::too_many_sign_ins(ctx.lang, seconds));
    }
    check_password(ctx, &name, new, "new_password")?;
    let token = token.to_string();
    match state.accounts.change_password(&name, old, new, &token).await {
        Ok(()) => Ok(()),
        Err(AccountError::WrongPassword) => {
            state.throttle.failed(&name, addr, now);
            Err(Problem::account(&AccountError::WrongPassword, ctx.lang))
        }
        Err(e) => Err(Problem::account(&e, ctx.lang)),
    }
}

/// The sign-ins of `name` that have not expired, the one with id `current` marked: one's own,
/// or any user's for an admin (404 for a name nobody has).
pub async fn sessions(ctx: &Ctx<'_>, name: &str, current: &str) -> Result<Vec<SessionInfo>, Problem> {
    if name != ctx.user.name {
        user(ctx, name).await?;
    }
    let asked = name.to_string();
    let mut sessions = ctx.state.accounts.sessions(&asked).await.map_err(account_problem(ctx))?;
    for session in &mut sessions {
        session.current = session.id == current;
    }
    Ok(sessions)
}

/// Ends one sign-in of `name` (its token stops working at once): one's own, or any user's for
/// an admin.
pub async fn end_session(ctx: &Ctx<'_>, name: &str, id: &str) -> Result<(), Problem> {
    if name != ctx.user.name {
        require_admin(ctx.user, ctx.lang)?;
    }
    let (user, id) = (name.to_string(), id.to_string());
    ctx.state.accounts.revoke_session(&user, &id).await.map_err(account_problem(ctx))
}

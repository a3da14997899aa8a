//! Who may log in to the master, and what each may do: users, their passwords and roles.
//!
//! Every user has one [`Role`]: an **admin** may do everything; a **backend** may write only
//! entries that point at its own server; a **frontend** may only read (writes get
//! `BAD "read-only session"`, as from a Cyrus slave). Passwords are argon2 hashes (PHC strings,
//! as `corvid mupdate hash-password` prints) or, for quick runs, given in clear at start.
//!
//! Logins use SASL PLAIN. The authorization id may be empty or the user's own name; naming
//! another user is allowed only to admins, and the session then takes that user's role (a Cyrus
//! backend with `mupdate_username` set logs in this way, murder.md §8). Checking an argon2 hash
//! takes tens of milliseconds, so the server runs [`Users::check`] off its event loop.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// What a logged-in session may do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads, and writes of entries located on this server (the part of `server!partition`
    /// before the `!`).
    Backend {
        /// The server name the backend's entries carry.
        server: Box<[u8]>,
    },
    /// Reads only.
    Frontend,
}

/// A logged-in session's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user the session acts as (the authorization id).
    pub user: String,
    /// What it may do.
    pub role: Role,
}

/// How a password is checked.
#[derive(Debug, Clone)]
enum Secret {
    /// Given in clear at start (quick runs and tests).
    Clear(String),
    /// An argon2 hash in PHC form.
    Hash(String),
}

/// One user of the master.
#[derive(Debug, Clone)]
struct User {
    secret: Secret,
    role: Role,
}

/// A SASL PLAIN login to check: `authzid NUL authcid NUL password`.
#[derive(Clone)]
pub struct Login {
    authzid: String,
    authcid: String,
    password: Vec<u8>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a password in a log line.
        f.debug_struct("Login")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// Reads a PLAIN message; `None` if it is not three NUL-separated UTF-8 fields.
    pub fn from_plain(message: &[u8]) -> Option<Login> {
        let mut fields = message.split(|&b| b == 0);
        let (authzid, authcid, password) = (fields.next()?, fields.next()?, fields.next()?);
        if fields.next().is_some() || authcid.is_empty() {
            return None;
        }
        Some(Login {
            authzid: String::from_utf8(authzid.to_vec()).ok()?,
            authcid: String::from_utf8(authcid.to_vec()).ok()?,
            password: password.to_vec(),
        })
    }

    /// The authenticating user (for log lines).
    pub fn authcid(&self) -> &str {
        &self.authcid
    }
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown user or wrong password.
    #[error("authentication failure")]
    Authentication,
    /// The user may not act as the authorization id named.
    #[error("authorization failure")]
    Authorization,
}

/// Why a user could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// The spec is not `NAME:PASSWORD` (or `NAME:PASSWORD:SERVER` for a backend).
    #[error("expected {expected}, got {got:?}")]
    Spec {
        /// The form expected.
        expected: &'static str,
        /// What was given (without the password).
        got: String,
    },
    /// The name is used twice.
    #[error("user {0:?} is defined twice")]
    Duplicate(String),
    /// A password hash that is not an argon2 PHC string.
    #[error("password hash of {0:?} is not an argon2 PHC string")]
    BadHash(String),
}

/// The users of the master.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: HashMap<String, User>,
}

impl Users {
    /// No users yet.
    pub fn new() -> Users {
        Users::default()
    }

    /// Adds a user whose password is given in clear.
    pub fn add_clear(&mut self, name: &str, password: &str, role: Role) -> Result<(), UserError> {
        self.add(name, Secret::Clear(password.to_string()), role)
    }

    /// Adds a user with an argon2 password hash (PHC string).
    pub fn add_hashed(&mut self, name: &str, hash: &str, role: Role) -> Result<(), UserError> {
        PasswordHash::new(hash).map_err(|_| UserError::BadHash(name.to_string()))?;
        self.add(name, Secret::Hash(hash.to_string()), role)
    }

    /// Adds a user from a quick-start flag: `NAME:PASSWORD` for admins and frontends,
    /// `NAME:PASSWORD:SERVER` for backends (the password may not contain `:`).
    pub fn add_spec(&mut self, spec: &str, kind: QuickRole) -> Result<(), UserError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (expected, role) = match (kind, parts.as_slice()) {
            (QuickRole::Admin, [_, _]) => ("", Role::Admin),
            (QuickRole::Frontend, [_, _]) => ("", Role::Frontend),
            (QuickRole::Backend, [_, _, server]) if !server.is_empty() => (
                "",
                Role::Backend {
                    server: server.as_bytes().into(),
                },
            ),
            (QuickRole::Backend, _) => ("NAME:PASSWORD:SERVER", Role::Frontend),
            _ => ("NAME:PASSWORD", Role::Frontend),
        };
        if !expected.is_empty() || parts[0].is_empty() {
            return Err(UserError::Spec {
                expected: if expected.is_empty() {
                    "a user name"
                } else {
                    expected
                },
                got: parts[0].to_string(),
            });
        }
        self.add_clear(parts[0], parts[1], role)
    }

    fn add(&mut self, name: &str, secret: Secret, role: Role) -> Result<(), UserError> {
        if self.users.contains_key(name) {
            return Err(UserError::Duplicate(name.to_string()));
        }
        self.users.insert(name.to_string(), User { secret, role });
        Ok(())
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks a login: the password of the authenticating user, then whether it may act as
    /// the authorization id. Slow for hashed passwords (argon2): run it off the event loop.
    pub fn check(&self, login: &Login) -> Result<Identity, LoginError> {
        let user = self
            .users
            .get(&login.authcid)
            .ok_or(LoginError::Authentication)?;
        let good = match &user.secret {
            Secret::Clear(password) => constant_time_eq(password.as_bytes(), &login.password),
            Secret::Hash(hash) => PasswordHash::new(hash).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(&login.password, &hash)
                    .is_ok()
            }),
        };
        if !good {
            return Err(LoginError::Authentication);
        }
        if login.authzid.is_empty() || login.authzid == login.authcid {
            return Ok(Identity {
                user: login.authcid.clone(),
                role: user.role.clone(),
            });
        }
        match (&user.role, self.users.get(&login.authzid)) {
            (Role::Admin, Some(target)) => Ok(Identity {
                user: login.authzid.clone(),
                role: target.role.clone(),
            }),
            _ => Err(LoginError::Authorization),
        }
    }
}

/// The role a quick-start flag gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuickRole {
    /// `--admin NAME:PASSWORD`.
    Admin,
    /// `--backend NAME:PASSWORD:SERVER`.
    Backend,
    /// `--frontend NAME:PASSWORD`.
    Frontend,
}

/// Hashes a password with argon2 (default parameters, random salt) into a PHC string for the
/// configuration file.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Compares without returning early, so timing does not tell how much of a password matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        let mut users = Users::new();
        users.add_spec("admin:secret", QuickRole::Admin).unwrap();
        users.add_spec("be1:pw1:be1", QuickRole::Backend).unwrap();
        users.add_spec("fe:pwf", QuickRole::Frontend).unwrap();
        users
            .add_hashed("hashed", &hash_password("p4ss").unwrap(), Role::Admin)
            .unwrap();
        users
    }

    fn login(message: &[u8]) -> Login {
        Login::from_plain(message).unwrap()
    }

    #[test]
    fn checks_passwords_and_roles() {
        let users = users();
        assert_eq!(
            users.check(&login(b"\0admin\0secret")).unwrap().role,
            Role::Admin
        );
        assert_eq!(
            users.check(&login(b"be1\0be1\0pw1")).unwrap().role,
            Role::Backend {
                server: b"be1".as_slice().into()
            }
        );
        assert_eq!(
            users.check(&login(b"\0hashed\0p4ss")).unwrap().user,
            "hashed"
        );
        for bad in [
            b"\0admin\0Secret".as_slice(),
            b"\0admin\0secre",
            b"\0nobody\0secret",
            b"\0hashed\0p4sS",
        ] {
            assert_eq!(users.check(&login(bad)), Err(LoginError::Authentication));
        }
    }

    #[test]
    fn only_admins_act_as_others() {
        let users = users();
        let as_fe = users.check(&login(b"fe\0admin\0secret")).unwrap();
        assert_eq!((as_fe.user.as_str(), as_fe.role), ("fe", Role::Frontend));
        assert_eq!(
            users.check(&login(b"admin\0fe\0pwf")),
            Err(LoginError::Authorization)
        );
        assert_eq!(
            users.check(&login(b"ghost\0admin\0secret")),
            Err(LoginError::Authorization)
        );
    }

    #[test]
    fn plain_messages_and_specs() {
        assert!(Login::from_plain(b"\0\0pw").is_none());
        assert!(Login::from_plain(b"a\0b").is_none());
        assert!(Login::from_plain(b"a\0b\0c\0d").is_none());
        assert!(
            format!("{:?}", login(b"\0u\0topsecret"))
                .find("topsecret")
                .is_none()
        );
        let mut users = Users::new();
        assert!(users.add_spec("be:pw", QuickRole::Backend).is_err());
        assert!(users.add_spec("admin", QuickRole::Admin).is_err());
        assert!(users.add_spec(":pw", QuickRole::Admin).is_err());
        users.add_spec("a:b", QuickRole::Admin).unwrap();
        assert_eq!(
            users.add_spec("a:c", QuickRole::Frontend),
            Err(UserError::Duplicate("a".into()))
        );
        assert!(users.add_hashed("h", "not a hash", Role::Admin).is_err());
    }
}

//! Mailbox names: modified UTF-7, the client's view and Cyrus internal names, and dbname order.

pub mod dbname;
pub mod mutf7;
pub mod name;

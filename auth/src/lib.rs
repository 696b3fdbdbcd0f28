//! Rackscope's sign-in primitives: password hashes, signed session tokens, API keys,
//! sign-in attempt limiting and client addresses behind reverse proxies.
//!
//! Pure bookkeeping and cryptography: no HTTP, no files, no clock of its own (callers pass
//! `now`), so the server decides where each piece is used and the tests decide what time it is.

pub mod apikey;
pub mod limit;
pub mod net;
pub mod password;
pub mod token;

mod rng;

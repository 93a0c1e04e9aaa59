//! Who is calling: tokens, passwords, login throttling, and the extractors that turn a
//! verified token into a [`StoreCaller`] — the only way a handler obtains a `StoreId`.

pub mod caller;
pub mod password;
pub mod throttle;
pub mod token;

pub use caller::{AnyCaller, PlatformCaller, StoreCaller};
pub use token::{Claims, TokenKeys};

//! Static configuration: traefik.toml plus command-line flags, resolved into a checked [`Config`].
//!
//! `load` reads the file (unknown keys become warnings naming the key; wrong types or values
//! become errors with file:line:column), `resolve` layers flags over it and fills Traefik 1.x
//! defaults. Nothing is bound or started here.

mod address;
mod assumed;
mod cipher_suites;
pub mod document;
mod error;
pub mod flags;
mod keys;
mod load;
mod middlewares;
mod origin;
mod overlay;
mod protection;
mod resolved;
pub mod schema;
mod suggest;
mod traefik_only;
pub mod traefik_v2;
pub mod tree;

pub use address::ListenAddress;
pub use assumed::{ASSUMED_DOCKER_DOMAIN, HTTP_PORT_ENV, assumed_defaults};
pub use cipher_suites::rustls_suites;
pub use error::line_col as line_col_of;
pub use error::{ConfigError, ValueError};
pub use keys::known_keys;
pub use load::{Loaded, UnknownKey, key_name, load, parse_toml, resolve, unknown_key};
pub use middlewares::{
    FrontendRead, Issue, backend_buffering, backend_max_conn, entry_point_auth,
    entry_point_white_list, frontend_middlewares,
};
pub use model::duration::{GoDuration, format_duration, parse_go_duration};
pub use origin::{FlagOrigin, key_offset, origins, table_offsets};
pub use overlay::apply_flags;
pub use resolved::*;
pub use suggest::did_you_mean;

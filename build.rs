//! Build metadata for `portier version`: the commit (from git, when the source is a checkout)
//! and the build date (`SOURCE_DATE_EPOCH` for reproducible builds, else today, UTC).

use std::process::Command;

fn main() {
    let commit = stdout(Command::new("git").args(["rev-parse", "--short=12", "HEAD"]));
    // `date` rather than a calendar here: SOURCE_DATE_EPOCH (reproducible builds) or today.
    let mut date = Command::new("date");
    date.arg("-u");
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        date.arg("-d").arg(format!("@{epoch}"));
    }
    let built = stdout(date.arg("+%Y-%m-%d"));
    println!("cargo:rustc-env=PORTIER_COMMIT={commit}");
    println!("cargo:rustc-env=PORTIER_BUILD_DATE={built}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    for git in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        println!("cargo:rerun-if-changed={git}");
    }
}

/// What `cmd` prints, trimmed; `unknown` when it cannot run or fails.
fn stdout(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

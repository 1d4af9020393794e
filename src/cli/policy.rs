//! `forloeb policy`: the access policy as the Markdown table the gateway enforces.

use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", forloeb_gateway::access::policy::markdown());
    Ok(ExitCode::SUCCESS)
}

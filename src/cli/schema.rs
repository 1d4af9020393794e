//! `forloeb schema`: the SDL, a subgraph's SDL, or the trusted-document manifest.

use clap::Args;
use forloeb_gateway::federation::Subgraph;
use forloeb_gateway::schema::subgraph_sdl;
use forloeb_gateway::trusted::Manifest;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// Print the trusted-document manifest (id = SHA-256 of the text) instead of the SDL.
    #[arg(long, conflicts_with = "subgraph")]
    manifest: bool,
    /// Print one subgraph's Federation v2 SDL (schema/subgraphs/NAME.graphql) instead.
    #[arg(long, value_enum)]
    subgraph: Option<Subgraph>,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    if args.manifest {
        let manifest = Manifest::builtin().to_json();
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else if let Some(subgraph) = args.subgraph {
        print!("{}", subgraph_sdl(subgraph));
    } else {
        print!("{}", forloeb_gateway::schema::sdl());
    }
    Ok(ExitCode::SUCCESS)
}

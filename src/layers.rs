//! The crate's layering, kept by a test that reads the paths of `src/`:
//!
//! - the four subgraph folders (`plans`, `population`, `clusters`, `rollout`) hold the fields
//!   each subgraph owns and never name one another: a field that returns another subgraph's
//!   entity returns the schema's type for it (`gql::Graph`);
//! - everything below them (`gql`, `facts`, `access`, `db`, `domain`, …) names none of them;
//! - only the joints above them — `schema` (the one-process and per-subgraph schemas), `app`
//!   (which builds them) and `cli` — name them.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    const SUBGRAPHS: [&str; 4] = ["plans", "population", "clusters", "rollout"];
    const ABOVE: [&str; 3] = ["schema", "app", "cli"];

    /// The top-level modules a source file names through `crate::…` paths, including the
    /// members of `use crate::{a, b::c}` groups.
    fn named_modules(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let ident = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level members of the group: split on commas outside nested braces.
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            found.insert(ident(&group[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.insert(ident(&group[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            } else {
                found.insert(ident(rest));
            }
        }
        found.remove("");
        found
    }

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn subgraph_folders_name_no_other_and_nothing_below_names_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let mut wrong = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&root).expect("under src");
            let top = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|s| s.trim_end_matches(".rs").to_string())
                .unwrap_or_default();
            // This file states the rule (its example names the folders); lib and main declare them.
            if ABOVE.contains(&top.as_str()) || matches!(top.as_str(), "lib" | "main" | "layers") {
                continue;
            }
            let text = std::fs::read_to_string(file).expect("source");
            for named in named_modules(&text) {
                if SUBGRAPHS.contains(&named.as_str()) && named != top {
                    wrong.push(format!("{} names crate::{named}", relative.display()));
                }
            }
        }
        assert!(wrong.is_empty(), "layering broken: {wrong:#?}");
    }

    #[test]
    fn the_reader_finds_paths_and_groups() {
        let text = "use crate::gql::{self, Date};\nuse crate::{entity_part, plans::x, \
                    population::{a, b}};\nlet x = crate::rollout::y();";
        let found: Vec<String> = named_modules(text).into_iter().collect();
        assert_eq!(
            found,
            ["entity_part", "gql", "plans", "population", "rollout"]
        );
    }
}

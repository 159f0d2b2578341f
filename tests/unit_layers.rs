//! The module graph of src/ has no circles, and ffi (the ground floor, the only unsafe code)
//! imports nothing of ours. Read from the sources, so a change that breaks it fails here.
use std::collections::{BTreeMap, BTreeSet};

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let top = rel.split(['/', '.']).next().unwrap().to_string();
            if top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let refs = graph.entry(top.clone()).or_default();
            for line in text.lines().map(|l| l.split("//").next().unwrap()) {
                let mut rest = line;
                while let Some(i) = rest.find("crate::") {
                    rest = &rest[i + 7..];
                    let names: Vec<String> = if let Some(inner) = rest.strip_prefix('{') {
                        inner.split('}').next().unwrap().split(',').map(|n| n.trim().split("::").next().unwrap().to_string()).collect()
                    } else {
                        vec![rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap().to_string()]
                    };
                    for n in names {
                        if !n.is_empty() && n != top && n != "ast_log" {
                            refs.insert(n);
                        }
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn ffi_imports_nothing_of_ours() {
    let g = graph();
    assert!(g["ffi"].is_empty(), "ffi imports {:?}", g["ffi"]);
}

#[test]
fn no_module_reaches_itself() {
    let g = graph();
    for start in g.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = g[start].iter().collect();
        while let Some(m) = todo.pop() {
            assert_ne!(m, start, "circle through {start}: {g:#?}");
            if seen.insert(m.clone()) {
                todo.extend(g.get(m).into_iter().flatten());
            }
        }
    }
}

#[test]
fn the_graph_is_read() {
    // The reader sees the known edges (so the two tests above can fail).
    let g = graph();
    assert!(g["engine"].contains("commands") && g["commands"].contains("context") && g["exports"].contains("app"), "{g:#?}");
}

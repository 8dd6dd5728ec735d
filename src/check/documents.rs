//! Documents: what a step needs was given before it on every path; what is given is needed.

use foldhash::{HashMap, HashMapExt, HashSet};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::diagnostic::{Code, Diagnostic};
use crate::interpret::{Dest, Interpreter};
use crate::model::{Edge, Expr, Node, NodeIndex, Sop};
use crate::t;

type Bits = Vec<u64>;

fn set(bits: &mut Bits, i: usize) {
    if let Some(word) = bits.get_mut(i / 64) {
        *word |= 1 << (i % 64);
    }
}

fn has(bits: &Bits, i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// The must-analysis of documents over the flow graph: what is certainly given on every path
/// reaching each node.
struct Analysis<'s> {
    sop: &'s Sop,
    indexes: HashMap<&'s str, usize>,
    words: usize,
    branch_of: HashMap<NodeIndex, HashMap<NodeIndex, usize>>,
    order: Vec<NodeIndex>,
}

impl<'s> Analysis<'s> {
    fn new(sop: &'s Sop) -> Self {
        let indexes = sop.artifacts.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
        // In topological order (loops cut at their back edges) the analysis settles in a few rounds.
        let order = crate::interpret::topological_order(sop, &crate::interpret::back_edges(sop));
        let words = sop.artifacts.len().div_ceil(64).max(1);
        Analysis { sop, indexes, words, branch_of: join_branches(sop), order }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.indexes.get(name).copied()
    }

    /// What is certainly given on every path out of each node, by node index. Joins take the
    /// union (all branches have run); other merges the intersection.
    ///
    /// With `assume`, only the paths on which that condition holds at every step it guards:
    /// the edge that skips such a step is left out.
    fn produced(&self, assume: Option<&Expr>) -> Vec<Bits> {
        let (sop, words) = (self.sop, self.words);
        let graph = &sop.flow.graph;
        let full: Bits = vec![u64::MAX; words];
        let mut produced_out: Vec<Bits> = vec![full.clone(); graph.node_count()];
        let mut external: Bits = vec![0; words];
        for (i, artifact) in sop.artifacts.iter().enumerate() {
            if artifact.external {
                set(&mut external, i);
            }
        }
        produced_out[sop.flow.start.index()] = external;
        let mut changed = true;
        let mut rounds = 0;
        // One buffer for a node's input, compared with what the node had before.
        let mut input: Bits = vec![0; words];
        while changed && rounds < 64 {
            changed = false;
            rounds += 1;
            for &node in &self.order {
                if node == sop.flow.start {
                    continue;
                }
                let incoming = graph.edges_directed(node, Direction::Incoming);
                let any = incoming.clone().next().is_some();
                let mut preds = incoming.filter(|e| !skips(sop, e, assume)).peekable();
                match self.branch_of.get(&node) {
                    // A join: every branch has run, but within one branch only what all its paths
                    // gave (a skipped conditional step gives nothing). Intersect within each branch,
                    // then take the union across branches.
                    Some(branches) => {
                        let mut per_branch: HashMap<usize, Bits> = HashMap::new();
                        for e in preds {
                            let p = e.source();
                            let key = branches.get(&p).copied().unwrap_or(usize::MAX - p.index());
                            let entry = per_branch.entry(key).or_insert_with(|| full.clone());
                            let given = self.along(&produced_out[p.index()], &e);
                            for (w, pw) in entry.iter_mut().zip(&given) {
                                *w &= pw;
                            }
                        }
                        input.fill(0);
                        for bits in per_branch.values() {
                            for (w, b) in input.iter_mut().zip(bits) {
                                *w |= b;
                            }
                        }
                    }
                    None => {
                        // A node reached only by skipping an assumed step is not reached at all
                        // under the assumption: it asks nothing of the nodes after it.
                        let reached = preds.peek().is_some() || (any && assume.is_some());
                        input.fill(if reached { u64::MAX } else { 0 });
                        for e in preds {
                            let given = self.along(&produced_out[e.source().index()], &e);
                            for (w, pw) in input.iter_mut().zip(&given) {
                                *w &= pw;
                            }
                        }
                    }
                }
                if let Some(Node::Step { step }) = graph.node_weight(node) {
                    for output in &sop.steps[*step].outputs {
                        if let Some(i) = self.index_of(output.artifact.as_str()) {
                            set(&mut input, i);
                        }
                    }
                }
                if input != produced_out[node.index()] {
                    produced_out[node.index()].copy_from_slice(&input);
                    changed = true;
                }
            }
        }
        produced_out
    }

    /// What is certainly given before `step` starts, from what its predecessors give.
    fn available(&self, produced_out: &[Bits], step: usize, assume: Option<&Expr>) -> Option<Bits> {
        let graph = &self.sop.flow.graph;
        let node = self.sop.flow.step_nodes[step];
        let mut preds =
            graph.edges_directed(node, Direction::Incoming).filter(|e| !skips(self.sop, e, assume)).peekable();
        preds.peek()?;
        let mut available = vec![u64::MAX; self.words];
        for p in preds {
            let given = self.along(&produced_out[p.source().index()], &p);
            for (w, pw) in available.iter_mut().zip(&given) {
                *w &= pw;
            }
        }
        Some(available)
    }

    /// What a node's successor gets along `edge`: what the node gave, and the documents its
    /// step gives only with the outcome the edge stands for.
    fn along(&self, given: &Bits, edge: &petgraph::graph::EdgeReference<'_, Edge>) -> Bits {
        let mut bits = given.clone();
        for output in outcome_outputs(self.sop, edge) {
            if let Some(i) = self.index_of(output.artifact.as_str()) {
                set(&mut bits, i);
            }
        }
        bits
    }
}

/// Whether `edge` skips a conditional step whose condition is `assume`.
/// The documents a decision's outcome gives, for the edge that outcome takes.
fn outcome_outputs<'s>(
    sop: &'s Sop,
    edge: &petgraph::graph::EdgeReference<'_, Edge>,
) -> &'s [crate::model::ArtifactUse] {
    let (Edge::Outcome { name, .. }, Some(Node::Decision { step })) =
        (edge.weight(), sop.flow.graph.node_weight(edge.source()))
    else {
        return &[];
    };
    let outcome = sop
        .steps
        .get(*step)
        .and_then(|s| s.decision.as_ref())
        .and_then(|d| d.outcomes.iter().find(|o| o.name.name == *name));
    outcome.map_or(&[], |o| o.outputs.as_slice())
}

fn skips(sop: &Sop, edge: &petgraph::graph::EdgeReference<'_, Edge>, assume: Option<&Expr>) -> bool {
    let Some(assume) = assume else { return false };
    let Edge::Condition { condition: None } = edge.weight() else { return false };
    match sop.flow.graph.node_weight(edge.source()) {
        Some(Node::Gate { step, guards_step: true }) => {
            sop.steps.get(*step).and_then(|s| s.condition.as_ref()).is_some_and(|c| c == assume)
        }
        _ => false,
    }
}

/// Whether a condition keeps its value through a case: no decision records (`catat`) a field
/// it reads. Case data is otherwise set when the case starts.
fn is_stable(sop: &Sop, condition: &Expr) -> bool {
    let fields = condition.fields();
    !sop.steps.iter().filter_map(|s| s.decision.as_ref()?.record.as_ref()).any(|r| fields.contains(&r.as_str()))
}

pub fn check(sop: &Sop, out: &mut Vec<Diagnostic>) {
    let analysis = Analysis::new(sop);
    let produced_out = analysis.produced(None);
    // What each stable step condition proves, computed when a step guarded by it lacks a document:
    // on the paths where it holds, every earlier step it guards has run.
    let mut assumed: Vec<(&Expr, Vec<Bits>)> = Vec::new();
    for (index, step) in sop.steps.iter().enumerate() {
        // Unreachable steps are reported elsewhere.
        let Some(available) = analysis.available(&produced_out, index, None) else { continue };
        for input in &step.inputs {
            let Some(i) = analysis.index_of(input.artifact.as_str()) else { continue };
            if has(&available, i) {
                continue;
            }
            if let Some(condition) = step.condition.as_ref().filter(|c| is_stable(sop, c)) {
                let position = match assumed.iter().position(|(c, _)| *c == condition) {
                    Some(position) => position,
                    None => {
                        assumed.push((condition, analysis.produced(Some(condition))));
                        assumed.len() - 1
                    }
                };
                let under = analysis.available(&assumed[position].1, index, Some(condition));
                if under.is_some_and(|bits| has(&bits, i)) {
                    continue;
                }
            }
            let name = input.artifact.as_str();
            let id = step.id.as_str();
            let mut d = Diagnostic::new(
                Code::InputNotProduced,
                t!(
                    "`{name}` belum tentu ada saat langkah `{id}` dimulai",
                    "`{name}` may not exist yet when step `{id}` starts"
                ),
                input.artifact.span,
                t!("tidak dihasilkan di setiap jalur sebelum langkah ini", "not given on every path before this step"),
            )
            .with_help(t!(
                "pastikan langkah sebelumnya menghasilkannya, atau tulis di blok `dokumen` jika dibawa pemohon",
                "make an earlier step give it, or declare it in `documents` if the applicant brings it"
            ));
            let gives = |s: &&crate::model::Step| {
                let by_outcome = s.decision.iter().flat_map(|d| &d.outcomes).flat_map(|o| &o.outputs);
                s.outputs.iter().chain(by_outcome).any(|o| o.artifact.name == name)
            };
            if let Some(producer) = sop.steps.iter().find(gives) {
                d = d.with_label(producer.span, t!("dihasilkan di sini", "given here"));
            }
            out.push(d);
        }
    }
    // Outputs never needed, except the results of the steps that end the procedure.
    let needed: HashSet<&str> = sop.steps.iter().flat_map(|s| s.inputs.iter().map(|i| i.artifact.as_str())).collect();
    let interpreter = Interpreter::new(sop);
    for (index, step) in sop.steps.iter().enumerate() {
        let node = sop.flow.step_nodes[index];
        // What the applicant takes away: the results of a step that ends the procedure or serves
        // the applicant (`dilayani`).
        let ends_here = step.serves || leads_to_end(sop, &interpreter, node);
        // What the applicant hands in (the requirement list, repeated in an Output cell) is
        // theirs to bring, not a result some later step must use.
        let by_applicant = step.performers.as_ref().is_some_and(|p| {
            !p.actors.is_empty()
                && p.actors
                    .iter()
                    .all(|a| sop.actor(a.as_str()).is_some_and(|x| x.kind == crate::model::ActorKind::Applicant))
        });
        if ends_here || by_applicant {
            continue;
        }
        // An outcome's documents are exempt when that outcome ends the procedure (the permit,
        // the refusal letter the applicant takes away).
        let outcome_outputs = step.decision.iter().flat_map(|d| &d.outcomes).filter(|o| match &o.target {
            crate::model::Target::Named(n) => sop.end(n.as_str()).is_none(),
            crate::model::Target::Next => true,
        });
        for output in step.outputs.iter().chain(outcome_outputs.flat_map(|o| &o.outputs)) {
            let name = output.artifact.as_str();
            if !needed.contains(name) {
                out.push(
                    Diagnostic::new(
                        Code::OutputUnused,
                        t!("`{name}` dihasilkan tetapi tidak pernah dibutuhkan", "`{name}` is given but never needed"),
                        output.artifact.span,
                        t!("tidak ada langkah yang membutuhkannya", "no step needs it"),
                    )
                    .with_help(t!(
                        "tulis di `kelengkapan` langkah yang memakainya, atau hapus",
                        "list it in `needs` of the step that uses it, or remove it"
                    )),
                );
            }
        }
    }
}

/// For each join node: which branch of its split each node inside the block belongs to.
/// Splits and joins are made in pairs (the join right after its split), and no route leaves a
/// branch, so a walk from a branch's first node that stops at the join stays in that branch.
fn join_branches(sop: &Sop) -> HashMap<NodeIndex, HashMap<NodeIndex, usize>> {
    let graph = &sop.flow.graph;
    let mut out = HashMap::new();
    for split in graph.node_indices() {
        if !matches!(graph.node_weight(split), Some(Node::Split { .. })) {
            continue;
        }
        let join = NodeIndex::new(split.index() + 1);
        if !matches!(graph.node_weight(join), Some(Node::Join { .. })) {
            continue;
        }
        let mut members = HashMap::new();
        let mut entries: Vec<_> = graph.edges_directed(split, Direction::Outgoing).map(|e| e.target()).collect();
        entries.sort();
        for (branch, entry) in entries.into_iter().enumerate() {
            let mut stack = vec![entry];
            while let Some(n) = stack.pop() {
                if n == join || members.contains_key(&n) {
                    continue;
                }
                members.insert(n, branch);
                stack.extend(graph.edges_directed(n, Direction::Outgoing).map(|e| e.target()));
            }
        }
        out.insert(join, members);
    }
    out
}

/// Whether a step can finish the procedure: one of the interpreter's arrows out of it reaches
/// an end with no step between (through its own decision, its conditional routes, a skipped
/// conditional step or the joins of the parallel blocks it closes). Deadline routes do not count:
/// the step's result is what the applicant takes away at the end.
fn leads_to_end(sop: &Sop, interpreter: &Interpreter, step_node: NodeIndex) -> bool {
    interpreter.arrows(sop, step_node).iter().any(|a| !a.deadline && matches!(a.to, Dest::End(_)))
}

#[cfg(test)]
mod tests {
    use crate::compile::{compile_source, Options};
    use crate::diagnostic::Code;

    fn codes(source: &str) -> Vec<Code> {
        compile_source("test.sop", source, &Options::default()).diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn output_of_a_step_routed_to_ends_by_conditions_is_not_unused() {
        let source = r#"
sop t "T" {
    pelaksana { a "A" }
    data { hasil pilihan(ya, tidak) }
    selesai {
        terbit "Terbit"
        tolak "Tolak"
    }
    langkah 1 putus oleh a {
        kegiatan "x"
        waktu 1 menit
        output surat "Surat"
        lanjut ke terbit jika hasil == ya
        lanjut ke tolak
    }
}
"#;
        assert!(!codes(source).contains(&Code::OutputUnused));
    }

    #[test]
    fn output_of_a_step_whose_outcome_is_an_end_is_not_unused() {
        let source = r#"
sop t "T" {
    pelaksana { a "A" }
    selesai {
        terbit "Terbit"
        tolak "Tolak"
    }
    langkah 1 putus oleh a {
        kegiatan "x"
        waktu 1 menit
        output surat "Surat"
        keputusan {
            setuju -> terbit
            tolak -> tolak
        }
    }
}
"#;
        assert!(!codes(source).contains(&Code::OutputUnused));
    }

    #[test]
    fn output_of_a_conditional_step_in_a_parallel_branch_is_not_certain_after_the_join() {
        let source = r#"
sop t "T" {
    pelaksana { a "A" }
    data { perlu ya_tidak }
    paralel {
        langkah 1 satu oleh a {
            jika perlu
            kegiatan "x"
            waktu 1 menit
            output bap "BAP"
        }
        langkah 2 dua oleh a {
            kegiatan "y"
            waktu 1 menit
            output rekom "Rekomendasi"
        }
    }
    langkah 3 tiga oleh a {
        kegiatan "z"
        kelengkapan bap, rekom
        waktu 1 menit
    }
}
"#;
        let diagnostics = compile_source("test.sop", source, &Options::default()).diagnostics;
        let not_given: Vec<_> = diagnostics.iter().filter(|d| d.code == Code::InputNotProduced).collect();
        assert_eq!(not_given.len(), 1, "{diagnostics:?}");
        assert!(not_given[0].message.en.contains("bap"));
    }

    #[test]
    fn output_nobody_needs_mid_procedure_is_still_unused() {
        let source = r#"
sop t "T" {
    pelaksana { a "A" }
    langkah 1 satu oleh a {
        kegiatan "x"
        waktu 1 menit
        output surat "Surat"
    }
    langkah 2 dua oleh a {
        kegiatan "y"
        waktu 1 menit
    }
}
"#;
        assert!(codes(source).contains(&Code::OutputUnused));
    }

    /// The applicant's step lists the requirement list as its Output (as printed tables do): the
    /// documents are the applicant's to hand in, not results a later step must need. The same
    /// outputs from a staff step are still W003.
    #[test]
    fn what_the_applicant_hands_in_is_not_an_unused_output() {
        let source = |actor: &str| {
            format!(
                r#"
sop t "T" {{
    pelaksana {{
        pemohon "Pemohon" pemohon
        fo "FO"
    }}
    langkah 1 ajukan oleh {actor} {{
        waktu 1 menit
        output formulir "Formulir permohonan", ktp "Fotokopi KTP", str "Fotokopi STR"
    }}
    langkah 2 periksa oleh fo {{
        kelengkapan formulir
        waktu 1 menit
    }}
    langkah 3 tutup oleh fo {{
        waktu 1 menit
    }}
}}
"#
            )
        };
        assert!(!codes(&source("pemohon")).contains(&Code::OutputUnused));
        assert_eq!(codes(&source("fo")).iter().filter(|c| **c == Code::OutputUnused).count(), 2);
    }
}

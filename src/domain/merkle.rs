//! The Merkle tree of RFC 6962 and RFC 9162 (section 2.1), over the ledger's entries in
//! order: a leaf is `SHA-256(0x00 ‖ entry)`, a node `SHA-256(0x01 ‖ left ‖ right)`, the
//! tree of `n` leaves splits at the largest power of two below `n`. Inclusion and consistency
//! proofs are made from the leaves (the reference, and what tests check the store's answers
//! against) and verified from the proof alone, as a district that holds only a signed head
//! verifies them. Pure: no I/O.

use sha2::{Digest, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The hash of a leaf: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of the tree over `leaves` (leaf hashes). The empty tree's root is SHA-256 of
/// nothing.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The inclusion proof (the audit path) of leaf `index` in the tree over `leaves`, lowest
/// level first. Empty for an index outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    if index >= leaves.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    path(leaves, index, &mut out);
    out
}

fn path(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(&leaves[..k], m, out);
        out.push(root(&leaves[k..]));
    } else {
        path(&leaves[k..], m - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree over all
/// `leaves`. Empty when `old_size` is 0, equals the size, or exceeds it.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Vec<Hash> {
    if old_size == 0 || old_size >= leaves.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    subproof(old_size, leaves, true, &mut out);
    out
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// Why a proof does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// The index is not below the tree's size, or the sizes are not in order.
    OutOfRange,
    /// The proof has too few or too many hashes for these sizes.
    WrongLength,
    /// The hashes do not lead to the root (or roots) given.
    RootMismatch,
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProofError::OutOfRange => "the index or sizes are out of range",
            ProofError::WrongLength => "the proof has the wrong number of hashes",
            ProofError::RootMismatch => "the proof does not lead to the root",
        })
    }
}

/// Verifies that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root
/// is `root`, with `proof` (RFC 9162, 2.1.3.2).
///
/// # Errors
/// [`ProofError`] naming what does not hold.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r == root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree
/// of `new_size` leaves with root `new_root`, with `proof` (RFC 9162, 2.1.4.2): the log only
/// grew.
///
/// # Errors
/// [`ProofError`] naming what does not hold.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::OutOfRange);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    // A complete old tree is its own first hash.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else { return Err(ProofError::WrongLength) };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr == old_root && &sr == new_root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// A node of the stored tree, `(level, index)`: the root of leaves
/// `[index·2^level, (index+1)·2^level)`, kept once all of them exist.
pub type NodeKey = (u8, u64);

/// The complete subtrees that make up leaves `[lo, hi)`, left to right, each as large as its
/// alignment allows. For every range RFC 6962's recursion meets, the range's hash is these
/// nodes folded from the right ([`fold`]).
pub fn subtrees(lo: u64, hi: u64) -> Vec<NodeKey> {
    let mut out = Vec::new();
    let mut p = lo;
    while p < hi {
        let mut level = if p == 0 { 63 } else { p.trailing_zeros() };
        while (1u64 << level) > hi - p {
            level -= 1;
        }
        out.push((u8::try_from(level).unwrap_or(63), p >> level));
        p += 1u64 << level;
    }
    out
}

/// The hash of a range from its complete subtrees (left to right): folded from the right.
pub fn fold(parts: &[Hash]) -> Hash {
    let mut it = parts.iter().rev();
    let Some(last) = it.next() else { return Sha256::digest([]).into() };
    it.fold(*last, |acc, left| node_hash(left, &acc))
}

/// Reads stored nodes: called with each key a computation needs.
pub type Nodes<'a> = dyn FnMut(NodeKey) -> Hash + 'a;

fn range_hash(lo: u64, hi: u64, get: &mut Nodes<'_>) -> Hash {
    let parts: Vec<Hash> = subtrees(lo, hi).into_iter().map(&mut *get).collect();
    fold(&parts)
}

/// The largest power of two strictly below `n` (`n` ≥ 2), for sizes.
fn split64(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree of `size` leaves, from stored nodes (at most log₂ `size` of them).
pub fn root_from(size: u64, get: &mut Nodes<'_>) -> Hash {
    range_hash(0, size, get)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from stored nodes, as
/// [`inclusion_proof`] makes it from the leaves. Empty for an index outside the tree.
pub fn inclusion_proof_from(index: u64, size: u64, get: &mut Nodes<'_>) -> Vec<Hash> {
    fn go(m: u64, lo: u64, hi: u64, get: &mut Nodes<'_>, out: &mut Vec<Hash>) {
        if hi - lo <= 1 {
            return;
        }
        let k = lo + split64(hi - lo);
        if m < k {
            go(m, lo, k, get, out);
            out.push(range_hash(k, hi, get));
        } else {
            go(m, k, hi, get, out);
            out.push(range_hash(lo, k, get));
        }
    }
    let mut out = Vec::new();
    if index < size {
        go(index, 0, size, get, &mut out);
    }
    out
}

/// The consistency proof from size `old` to size `new`, from stored nodes, as
/// [`consistency_proof`] makes it from the leaves. Empty when `old` is 0 or not below `new`.
pub fn consistency_proof_from(old: u64, new: u64, get: &mut Nodes<'_>) -> Vec<Hash> {
    fn go(m: u64, lo: u64, hi: u64, complete: bool, get: &mut Nodes<'_>, out: &mut Vec<Hash>) {
        if lo + m == hi {
            if !complete {
                out.push(range_hash(lo, hi, get));
            }
            return;
        }
        let k = split64(hi - lo);
        if m <= k {
            go(m, lo, lo + k, complete, get, out);
            out.push(range_hash(lo + k, hi, get));
        } else {
            go(m - k, lo + k, hi, false, get, out);
            out.push(range_hash(lo, lo + k, get));
        }
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        go(old, 0, new, true, get, &mut out);
    }
    out
}

/// The keys a computation over stored nodes reads: run it once with this, read them all in
/// one statement, then run it again over what was read.
pub fn keys_of(run: impl FnOnce(&mut Nodes<'_>)) -> Vec<NodeKey> {
    let mut keys = Vec::new();
    run(&mut |k| {
        keys.push(k);
        [0u8; 32]
    });
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The batch inclusion proof of the leaves at `indices` (sorted, distinct, below `size`):
/// the hashes of the ranges of RFC 6962's recursion that hold none of them, in the order
/// the recursion meets them (left before right). With the leaves themselves it gives the
/// root ([`verify_batch`]); shared upper levels appear once, so k leaves of n cost about
/// k·log₂(n/k) hashes rather than k·log₂ n.
pub fn batch_proof_from(indices: &[u64], size: u64, get: &mut Nodes<'_>) -> Vec<Hash> {
    fn go(ix: &[u64], lo: u64, hi: u64, get: &mut Nodes<'_>, out: &mut Vec<Hash>) {
        if ix.is_empty() {
            out.push(range_hash(lo, hi, get));
            return;
        }
        if hi - lo <= 1 {
            return;
        }
        let k = lo + split64(hi - lo);
        let cut = ix.partition_point(|&i| i < k);
        go(&ix[..cut], lo, k, get, out);
        go(&ix[cut..], k, hi, get, out);
    }
    let mut out = Vec::new();
    if size > 0 && !indices.is_empty() {
        go(indices, 0, size, get, &mut out);
    }
    out
}

/// The root that `leaves` (leaf hashes at `indices`, sorted and distinct) and a batch proof
/// give for a tree of `size` leaves; compare it with a signed root.
///
/// # Errors
/// [`ProofError::OutOfRange`] for indices not sorted, repeated or beyond `size`;
/// [`ProofError::WrongLength`] when the proof has too few or too many hashes.
pub fn verify_batch(indices: &[u64], leaves: &[Hash], size: u64, proof: &[Hash]) -> Result<Hash, ProofError> {
    fn go(
        ix: &[u64],
        leaves: &[Hash],
        lo: u64,
        hi: u64,
        proof: &mut std::slice::Iter<'_, Hash>,
    ) -> Result<Hash, ProofError> {
        if ix.is_empty() {
            return proof.next().copied().ok_or(ProofError::WrongLength);
        }
        if hi - lo <= 1 {
            return Ok(leaves[0]);
        }
        let k = lo + split64(hi - lo);
        let cut = ix.partition_point(|&i| i < k);
        let left = go(&ix[..cut], &leaves[..cut], lo, k, proof)?;
        let right = go(&ix[cut..], &leaves[cut..], k, hi, proof)?;
        Ok(node_hash(&left, &right))
    }
    let ordered = indices.windows(2).all(|w| w[0] < w[1]);
    if indices.is_empty() || indices.len() != leaves.len() || !ordered || indices[indices.len() - 1] >= size {
        return Err(ProofError::OutOfRange);
    }
    let mut it = proof.iter();
    let r = go(indices, leaves, 0, size, &mut it)?;
    if it.next().is_some() {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first.
/// Appending a leaf gives the nodes to store (the leaf and every subtree it completes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The keys of the frontier of a tree of `size` leaves, largest first.
    pub fn keys(size: u64) -> Vec<NodeKey> {
        subtrees(0, size)
    }

    /// The frontier of a tree of `size` leaves from its nodes (in [`Frontier::keys`] order).
    /// `None` when their number is not the one `size` needs.
    pub fn new(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let keys = Self::keys(size);
        (keys.len() == hashes.len())
            .then(|| Self { size, nodes: keys.into_iter().map(|(l, _)| l).zip(hashes).collect() })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the nodes to store: the leaf at level 0 and each subtree it
    /// completes.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeKey, Hash)> {
        let index = self.size;
        let mut out = vec![((0, index), leaf)];
        let mut cur = (0u8, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != cur.0 {
                break;
            }
            self.nodes.pop();
            cur = (level + 1, node_hash(&left, &cur.1));
            out.push(((cur.0, index >> cur.0), cur.1));
        }
        self.nodes.push(cur);
        self.size += 1;
        out
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let parts: Vec<Hash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold(&parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The eight leaves of the RFC 6962 reference tests (certificate-transparency's
    /// `merkle_tree_test`), as bytes.
    fn reference_leaves() -> Vec<Hash> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|h| {
                let bytes: Vec<u8> =
                    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
                leaf_hash(&bytes)
            })
            .collect()
    }

    #[test]
    fn the_roots_of_the_reference_trees_are_the_published_ones() {
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = reference_leaves();
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(hex(&root(&leaves[..=n])), *want, "tree of {} leaves", n + 1);
        }
        assert_eq!(hex(&root(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn the_reference_proofs_are_made_and_verified() {
        let leaves = reference_leaves();
        let path = inclusion_proof(&leaves, 0);
        let path: Vec<String> = path.iter().map(hex).collect();
        assert_eq!(
            path,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        let r8 = root(&leaves);
        assert_eq!(verify_inclusion(0, 8, &leaves[0], &inclusion_proof(&leaves, 0), &r8), Ok(()));
        // Consistency 1 → 8, 6 → 8, 2 → 5.
        for (m, n) in [(1, 8), (6, 8), (2, 5)] {
            let p = consistency_proof(&leaves[..n], m);
            assert_eq!(verify_consistency(m as u64, n as u64, &root(&leaves[..m]), &root(&leaves[..n]), &p), Ok(()));
        }
    }

    #[test]
    fn an_edited_removed_or_swapped_entry_is_caught() {
        let leaves = reference_leaves();
        let r8 = root(&leaves);
        let p = inclusion_proof(&leaves, 3);
        // Edited: another leaf does not lead to the root.
        assert_eq!(verify_inclusion(3, 8, &leaf_hash(b"edited"), &p, &r8), Err(ProofError::RootMismatch));
        // Swapped: leaf 3 at position 4.
        assert_eq!(verify_inclusion(4, 8, &leaves[3], &p, &r8), Err(ProofError::RootMismatch));
        // Removed: the log of 7 after dropping leaf 2 is not an extension of the old 4.
        let old = root(&leaves[..4]);
        let mut forked = leaves.clone();
        forked.remove(2);
        let p = consistency_proof(&forked, 4);
        assert_eq!(verify_consistency(4, 7, &old, &root(&forked), &p), Err(ProofError::RootMismatch));
        // Wrong lengths and ranges.
        assert_eq!(verify_inclusion(8, 8, &leaves[0], &[], &r8), Err(ProofError::OutOfRange));
        assert_eq!(verify_inclusion(0, 8, &leaves[0], &[], &r8), Err(ProofError::WrongLength));
        assert_eq!(verify_consistency(9, 8, &r8, &r8, &[]), Err(ProofError::OutOfRange));
        assert_eq!(verify_consistency(8, 8, &r8, &r8, &[r8]), Err(ProofError::WrongLength));
    }

    /// A stored tree: every complete subtree of `leaves`, as the store keeps them.
    fn stored(leaves: &[Hash]) -> std::collections::HashMap<NodeKey, Hash> {
        let mut f = Frontier::new(0, Vec::new()).unwrap();
        leaves.iter().flat_map(|l| f.push(*l)).collect()
    }

    #[test]
    fn a_range_is_its_aligned_subtrees() {
        assert_eq!(subtrees(0, 6), vec![(2, 0), (1, 2)]);
        assert_eq!(subtrees(4, 7), vec![(1, 2), (0, 6)]);
        assert_eq!(subtrees(0, 8), vec![(3, 0)]);
        assert_eq!(subtrees(5, 5), vec![]);
        assert_eq!(Frontier::keys(13), vec![(3, 0), (2, 2), (0, 12)]);
    }

    proptest! {
        #[test]
        fn the_stored_tree_gives_the_reference_roots_and_proofs(n in 1usize..90, seed in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(seed ^ i as u64).to_le_bytes())).collect();
            let nodes = stored(&leaves);
            let mut get = |k: NodeKey| nodes[&k];
            let mut f = Frontier::new(0, Vec::new()).unwrap();
            for (i, l) in leaves.iter().enumerate() {
                f.push(*l);
                prop_assert_eq!(f.root(), root(&leaves[..=i]));
                prop_assert_eq!(root_from(i as u64 + 1, &mut get), root(&leaves[..=i]));
            }
            let size = n as u64;
            for i in 0..n {
                prop_assert_eq!(inclusion_proof_from(i as u64, size, &mut get), inclusion_proof(&leaves, i));
            }
            for m in 0..=n {
                prop_assert_eq!(consistency_proof_from(m as u64, size, &mut get), consistency_proof(&leaves, m));
            }
            // A frontier rebuilt from stored nodes goes on as the one that made them.
            let keys = Frontier::keys(size);
            let rebuilt = Frontier::new(size, keys.iter().map(|k| nodes[k]).collect()).unwrap();
            prop_assert_eq!(rebuilt, f);
        }

        #[test]
        fn a_batch_proof_gives_the_root_from_its_leaves_alone(
            n in 1usize..90, pick in proptest::collection::btree_set(0usize..90, 1..12), seed in any::<u64>()
        ) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(seed ^ i as u64).to_le_bytes())).collect();
            let nodes = stored(&leaves);
            let ix: Vec<u64> = pick.into_iter().filter(|&i| i < n).map(|i| i as u64).collect();
            prop_assume!(!ix.is_empty());
            let size = n as u64;
            let proof = batch_proof_from(&ix, size, &mut |k| nodes[&k]);
            let mine: Vec<Hash> = ix.iter().map(|&i| leaves[i as usize]).collect();
            prop_assert_eq!(verify_batch(&ix, &mine, size, &proof), Ok(root(&leaves)));
            // One leaf changed: another root.
            let mut edited = mine.clone();
            edited[0] = leaf_hash(b"edited");
            prop_assert_ne!(verify_batch(&ix, &edited, size, &proof), Ok(root(&leaves)));
            // Never more hashes than separate proofs would take.
            let separate: usize = ix.iter().map(|&i| inclusion_proof(&leaves, i as usize).len()).sum();
            prop_assert!(proof.len() <= separate.max(1));
        }
    }

    #[test]
    fn a_batch_proof_of_the_wrong_shape_is_refused() {
        let leaves = reference_leaves();
        let nodes = stored(&leaves);
        let proof = batch_proof_from(&[1, 5], 8, &mut |k| nodes[&k]);
        let mine = [leaves[1], leaves[5]];
        assert_eq!(verify_batch(&[1, 5], &mine, 8, &proof), Ok(root(&leaves)));
        assert_eq!(verify_batch(&[1, 5], &mine, 8, &proof[1..]), Err(ProofError::WrongLength));
        let mut longer = proof.clone();
        longer.push(leaves[0]);
        assert_eq!(verify_batch(&[1, 5], &mine, 8, &longer), Err(ProofError::WrongLength));
        assert_eq!(verify_batch(&[5, 1], &mine, 8, &proof), Err(ProofError::OutOfRange));
        assert_eq!(verify_batch(&[1, 8], &mine, 8, &proof), Err(ProofError::OutOfRange));
        // Leaves 1 and 5 swapped give another root.
        assert_ne!(verify_batch(&[1, 5], &[leaves[5], leaves[1]], 8, &proof), Ok(root(&leaves)));
    }

    proptest! {
        #[test]
        fn every_leaf_is_proved_in_every_tree_and_every_prefix_is_consistent(n in 1usize..70, seed in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(seed ^ i as u64).to_le_bytes())).collect();
            let r = root(&leaves);
            for i in 0..n {
                let p = inclusion_proof(&leaves, i);
                prop_assert_eq!(verify_inclusion(i as u64, n as u64, &leaves[i], &p, &r), Ok(()));
                // The proof is O(log n) hashes.
                prop_assert!(p.len() <= usize::BITS as usize - (n.leading_zeros() as usize) + 1);
            }
            for m in 1..=n {
                let p = consistency_proof(&leaves, m);
                prop_assert_eq!(verify_consistency(m as u64, n as u64, &root(&leaves[..m]), &r, &p), Ok(()));
            }
        }

        #[test]
        fn a_changed_leaf_breaks_its_proof_and_the_consistency_of_every_later_tree(
            n in 2usize..50, at in 0usize..50, seed in any::<u64>()
        ) {
            let at = at % n;
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(seed ^ i as u64).to_le_bytes())).collect();
            let mut changed = leaves.clone();
            changed[at] = leaf_hash(b"rewritten");
            let p = inclusion_proof(&changed, at);
            prop_assert_eq!(verify_inclusion(at as u64, n as u64, &changed[at], &p, &root(&leaves)), Err(ProofError::RootMismatch));
            // A head kept before the rewrite is not extended by the rewritten log.
            let m = at + 1;
            if m < n {
                let p = consistency_proof(&changed, m);
                prop_assert!(verify_consistency(m as u64, n as u64, &root(&leaves[..m]), &root(&changed), &p).is_err());
            }
        }
    }
}

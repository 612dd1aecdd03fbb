"""The rule languages, typed once: nftables (libnftables JSON) and iptables (`-S` words).

Every reader of rules uses these types: facts (the live rulesets), the libvirt model (the
rules libvirt creates, their canonical comparison with live rules, the listing the kernel
prints), and the evaluator (rules -> operations). So each quirk of how the kernel lists a
rule (the default reject, ct state order, ``op: in`` for bitmasks, ``/32`` shown as an
address, iptables' long and short option names) is handled in exactly one place.

- `nft`: nftables statements and a rule: its text, JSON and canonical key;
- `nft_values`: the expressions on a match's left and the JSON values on its right;
- `nft_ruleset`: the chains and tables of a ruleset, from `nft -j list` documents;
- `iptables`: one iptables rule (its words, parsed options, canonical key);
- `iptables_save`: chains and tables, from iptables-save or per-chain `-S` listings.

This package sits at the bottom of the import graph: it imports nothing from collect,
facts, libvirt, evaluate, checks, txn or cli.
"""

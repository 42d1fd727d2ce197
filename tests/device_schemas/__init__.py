"""Each vendor's configuration read back by that vendor's published schema or parser.

One module per vendor. Each offers `check(text)`, which returns the problems it finds
(an empty list for a file the device would take), and a parse that gives the file's
structure to the semantic checks (`tests/test_device_configs_traffic.py`):

- `junos`: the Junos schema shipped in `junoscfg` (with the SRX's own statements,
  which that router schema lacks, from Juniper's CLI reference);
- `panos`: the XML paths that `pan-os-python` defines for each object, per PAN-OS
  version;
- `fortios`: Fortinet's per-version schema, read from the `fortinet.fortios` collection
  inside the installed `ansible` package;
- `cisco`: `ciscoconfparse` for the structure, and the commands of Cisco's command
  references for the keywords.

The schemas are read from the installed packages at test time; nothing of them is
copied into the repository.
"""

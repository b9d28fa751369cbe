// KilnHCL: HCL2, the language of Packer's `.pkr.hcl` and `.pkr.json` templates (issue #14).
//
// Of Kiln, it uses only KilnCrypto (digests and randomness for Packer's hash, bcrypt and UUID
// functions), and of others Yams (`yamldecode`): it reads bytes and gives values and
// diagnostics; a later layer turns `variable`, `locals`, `source` and `build` blocks into builds.
//
//   Syntax/      Scanner (modal: normal, quoted, heredoc, bare template), Parser (hclsyntax's
//                grammar and error recovery), AST (`Expression`, every node with its range),
//                `HCLBody` / `HCLExpression` over both syntaxes, schema-driven `content`
//   JSON/        HCL's JSON syntax: a JSON reader keeping positions, duplicates and big numbers
//   Values/      `HCLType`, `HCLValue` (cty's model, `unknown` included), `HCLConvert`
//                (conversion and unification), `HCLTypeExpression`
//   Numbers/     `HCLNumber`: cty's 512-bit big.Float, emulated exactly (see its documentation)
//   Eval/        `EvalContext` (variables, functions), the evaluator, `EvalLimits`
//   Functions/   `HCLStandardFunction`, the one table of cty's functions, and their
//                implementations (including a linear-time RE2-syntax regex engine)
//   Packer/      `PackerFunctions.table(context)`: exactly the functions Packer registers, with
//                `PackerFunction` (Packer's own: file system, dates, hashes, bcrypt, UUIDs,
//                cidr*, `convert`, YAML, text encodings, rsadecrypt; `vault`, `consul_key`
//                and `aws_secretsmanager*` a positioned "not supported by Kiln")
//                over a `PackerFunctionContext` (base directory, the run's clock, environment);
//                `env` apart, for variable defaults only
//   Format/      `kiln fmt`: `HCLCanonicalFormat` (hclwrite.Format's layout, token by token),
//                `HCLFormatRun` (packer fmt's files, output and exit codes), `UnifiedDiff`
//   Diagnostics/ `HCLDiagnostic`: `FILE:LINE:COL: error: Summary; detail`, and rendered with
//                the source line and carets under the range
//
// Checked against HashiCorp's own implementation (Tests/Fixtures/hclpeer, over Debian's
// hcl v2.14 and cty v1.12 sources) and HCL's spec suite.
//
// Bounds, so that no input can crash or hang it: parsing nests at most 100 levels (brackets,
// calls, templates, directives, blocks; past that one positioned error), the tree the
// evaluator walks at most 250; an evaluation takes at most `EvalLimits.steps` steps and
// builds at most `totalBytes`; numbers saturate beyond 2^±16384; `range` stops at 1024
// values, as cty's does.
//
// Packer's functions are checked against cty/HCL/Go where they have them (the same peer),
// against Debian's Packer 1.6.6 `packer console` (cidr*, uuidv5, paths, files, YAML), and
// against Packer's documented examples for the rest. File reads stop at 16 MiB, `fileset` at
// 10,000 matches (100,000 entries visited), bcrypt at cost 16; `templatefile` cannot call
// itself, and renders within the calling evaluation's steps and bytes (`.rendering`).
//
// Not yet: `base64gzip` writes stored deflate blocks (valid gzip, other bytes than Go's
// compressor); text encodings beyond UTF-8, UTF-16, ISO-8859-1/15, windows-1252 and ASCII;
// static analysis (variable references, `--var-refs`); marks (sensitive values). Unicode
// classes (`\p{…}`) in regular expressions are refused.

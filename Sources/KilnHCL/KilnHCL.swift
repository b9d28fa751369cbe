// KilnHCL: HCL2, the language of Packer's `.pkr.hcl` and `.pkr.json` templates (issue #14).
//
// No Kiln dependencies: it reads bytes and gives values and diagnostics; a later layer turns
// `variable`, `locals`, `source` and `build` blocks into builds.
//
//   Syntax/      Scanner (modal: normal, quoted, heredoc, bare template), Parser (hclsyntax's
//                grammar and error recovery), AST (`Expression`, every node with its range),
//                `HCLBody` / `HCLExpression` over both syntaxes, schema-driven `content`
//   JSON/        HCL's JSON syntax: a JSON reader keeping positions, duplicates and big numbers
//   Values/      `HCLType`, `HCLValue` (cty's model, `unknown` included), `HCLConvert`
//                (conversion and unification), `HCLTypeExpression`
//   Numbers/     `HCLNumber`: cty's 512-bit big.Float, emulated exactly (see its documentation)
//   Eval/        `EvalContext` (variables, functions), the evaluator, `EvalLimits`
//   Functions/   `HCLStandardFunction`, the one table of functions, and their implementations
//                (including a linear-time RE2-syntax regex engine)
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
// Not yet: Packer's impure functions (timestamp, uuid, file, env, …) and the hashing ones
// (md5, sha*, bcrypt), `formatdate`/`timeadd`, `convert`, `yamlencode`/`yamldecode`, cidr*;
// static analysis (variable references, `--var-refs`); marks (sensitive values). Unicode
// classes (`\p{…}`) in regular expressions are refused.

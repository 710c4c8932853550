#!/usr/bin/env node
// A `solc` executable backed by the official wasm build of the compiler (npm package `solc`).
//
// It answers the two calls that py-solc-x and ape-solidity make of a native solc:
//   solc --version
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths P[,P]]  < input.json
// Same compiler version, same standard-JSON input => same bytecode as the native binary.
// Sources given by `urls` (instead of `content`) and imports are read from the base path, the
// include paths and the working directory, as the native compiler does.
'use strict';

const fs = require('fs');
const path = require('path');

function loadCompiler() {
  const here = __dirname;
  const candidates = [
    process.env.O2O_SOLC_JS,
    path.resolve(here, '..', '..', 'node_modules', 'solc'),
  ].filter(Boolean);
  for (const c of candidates) {
    try { return require(c); } catch (e) { /* try the next one */ }
  }
  return require('solc');
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, help: false, basePath: null, includePaths: [], allowPaths: [], inputFile: null, unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { i += 1; if (i >= argv.length) { fail(`${a} needs a value`); } return argv[i]; };
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a === '--base-path') opts.basePath = next();
    else if (a.startsWith('--base-path=')) opts.basePath = a.slice(12);
    else if (a === '--include-path') opts.includePaths.push(next());
    else if (a.startsWith('--include-path=')) opts.includePaths.push(a.slice(15));
    else if (a === '--allow-paths') opts.allowPaths.push(...next().split(','));
    else if (a.startsWith('--allow-paths=')) opts.allowPaths.push(...a.slice(14).split(','));
    else if (a === '--no-color' || a === '--pretty-json' || a === '--json-indent') { /* formatting only */ }
    else if (!a.startsWith('-') && opts.standardJson && !opts.inputFile) opts.inputFile = a;
    else opts.unknown.push(a);
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`solc (wasm): ${message}\n`);
  process.exitCode = 1;
  throw new Error(message);
}

function makeImportReader(opts) {
  const roots = [];
  if (opts.basePath) roots.push(path.resolve(opts.basePath));
  for (const p of opts.includePaths) roots.push(path.resolve(p));
  roots.push(process.cwd());
  return function findImports(sourceUnitName) {
    const tried = [];
    const candidates = path.isAbsolute(sourceUnitName) ? [sourceUnitName] : roots.map((r) => path.join(r, sourceUnitName));
    for (const file of candidates) {
      tried.push(file);
      try {
        if (fs.statSync(file).isFile()) return { contents: fs.readFileSync(file, 'utf8') };
      } catch (e) { /* not here */ }
    }
    return { error: `File not found. Searched the following locations: ${tried.map((t) => `"${t}"`).join(', ')}` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadCompiler();
  if (opts.help) {
    process.stdout.write('solc (wasm build, via the npm package `solc`)\nUsage: solc --version | solc --standard-json [--base-path P] [--include-path P] [--allow-paths P] [FILE]\n');
    return;
  }
  if (opts.version) {
    // The same two lines the native compiler prints; the platform suffix names the wasm build.
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) {
    fail(`only --version and --standard-json are supported by this wasm-backed solc (got: ${process.argv.slice(2).join(' ') || 'no arguments'})`);
  }
  const raw = opts.inputFile ? fs.readFileSync(opts.inputFile, 'utf8') : readStdin();
  const findImports = makeImportReader(opts);
  let input;
  try {
    input = JSON.parse(raw);
  } catch (e) {
    process.stdout.write(JSON.stringify({ errors: [{ component: 'general', formattedMessage: `Invalid JSON input: ${e.message}`, message: `Invalid JSON input: ${e.message}`, severity: 'error', type: 'JSONError' }] }));
    return;
  }
  // Native solc loads `urls` sources itself; the wasm build leaves that to us.
  for (const [name, src] of Object.entries(input.sources || {})) {
    if (src && src.content === undefined && Array.isArray(src.urls)) {
      for (const url of src.urls) {
        const found = findImports(url);
        if (found.contents !== undefined) { src.content = found.contents; delete src.urls; break; }
      }
      if (src.content === undefined) {
        const found = findImports(name);
        if (found.contents !== undefined) { src.content = found.contents; delete src.urls; }
      }
    }
  }
  const output = solc.compile(JSON.stringify(input), { import: findImports });
  // Never process.exit() here: output to a pipe is flushed asynchronously and would be cut.
  process.stdout.write(output);
}

try {
  main();
} catch (e) {
  if (!process.exitCode) {
    process.stderr.write(`solc (wasm): ${e && e.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  }
}

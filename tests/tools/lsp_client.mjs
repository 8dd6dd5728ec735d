// Drives `alur lsp` with the LSP client library VS Code's own client is built on
// (vscode-languageserver-protocol over stdio), run by tests/lsp.rs:
//   node lsp_client.mjs ALUR_BINARY FILE.sop
// Opens the file, introduces a typo, waits for the diagnostic, fixes it, then asks for hover,
// definition, references, rename and formatting. Prints what it saw as one JSON object.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import rpc from "vscode-languageserver-protocol/node.js";

const [binary, file] = process.argv.slice(2);
const server = spawn(binary, ["lsp", "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
const connection = rpc.createProtocolConnection(
  new rpc.StreamMessageReader(server.stdout),
  new rpc.StreamMessageWriter(server.stdin),
);
const uri = pathToFileURL(file).href;
const text = readFileSync(file, "utf8");

const published = [];
let waiting = null;
connection.onNotification(rpc.PublishDiagnosticsNotification.type, (params) => {
  published.push(params);
  if (waiting && waiting.test(params)) {
    const done = waiting.resolve;
    waiting = null;
    done(params);
  }
});
function diagnosticsFor(version) {
  const seen = published.find((p) => p.uri === uri && p.version === version);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no diagnostics for version ${version}`)), 10000);
    waiting = {
      test: (p) => p.uri === uri && p.version === version,
      resolve: (p) => {
        clearTimeout(timer);
        resolve(p);
      },
    };
  });
}
const at = (needle, nth = 0) => {
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length - 1, character: before[before.length - 1].length };
};

connection.listen();
const out = {};
const init = await connection.sendRequest(rpc.InitializeRequest.type, {
  processId: process.pid,
  rootUri: null,
  capabilities: {},
  initializationOptions: { debounceMs: 50 },
});
out.capabilities = init.capabilities;
await connection.sendNotification(rpc.InitializedNotification.type, {});

await connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
  textDocument: { uri, languageId: "alur", version: 1, text },
});
out.opened = (await diagnosticsFor(1)).diagnostics;

// A typo in an actor's id, as a keystroke would make it.
const typo = text.replace("oleh front_office", "oleh front_ofice");
await connection.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
  textDocument: { uri, version: 2 },
  contentChanges: [{ text: typo }],
});
const started = Date.now();
out.typo = (await diagnosticsFor(2)).diagnostics;
out.typoMillis = Date.now() - started;
out.actions = await connection.sendRequest(rpc.CodeActionRequest.type, {
  textDocument: { uri },
  range: out.typo[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
  context: { diagnostics: out.typo },
});

await connection.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
  textDocument: { uri, version: 3 },
  contentChanges: [{ text }],
});
out.fixed = (await diagnosticsFor(3)).diagnostics;

out.hover = await connection.sendRequest(rpc.HoverRequest.type, {
  textDocument: { uri },
  position: at("verifikasi"),
});
out.definition = await connection.sendRequest(rpc.DefinitionRequest.type, {
  textDocument: { uri },
  position: at("terima_berkas"),
});
out.references = await connection.sendRequest(rpc.ReferencesRequest.type, {
  textDocument: { uri },
  position: at("back_office"),
  context: { includeDeclaration: true },
});
out.rename = await connection.sendRequest(rpc.RenameRequest.type, {
  textDocument: { uri },
  position: at("verifikasi"),
  newName: "periksa_berkas",
});
try {
  await connection.sendRequest(rpc.RenameRequest.type, {
    textDocument: { uri },
    position: at("verifikasi"),
    newName: "langkah",
  });
  out.renameToKeyword = null;
} catch (error) {
  out.renameToKeyword = error.message;
}

// Formatting: the same file with its indentation spoilt.
const messy = text.replace(/\n {4}langkah/g, "\n  langkah");
await connection.sendNotification(rpc.DidChangeTextDocumentNotification.type, {
  textDocument: { uri, version: 4 },
  contentChanges: [{ text: messy }],
});
out.format = await connection.sendRequest(rpc.DocumentFormattingRequest.type, {
  textDocument: { uri },
  options: { tabSize: 4, insertSpaces: true },
});
out.symbols = await connection.sendRequest(rpc.DocumentSymbolRequest.type, { textDocument: { uri } });

await connection.sendRequest(rpc.ShutdownRequest.type);
await connection.sendNotification(rpc.ExitNotification.type);
const code = await new Promise((resolve) => server.on("exit", resolve));
out.exitCode = code;
console.log(JSON.stringify(out));
connection.dispose();

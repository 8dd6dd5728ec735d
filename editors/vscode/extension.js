// The VS Code client of `alur lsp`: starts the server over stdio for `.sop` files. Everything
// the editor shows (diagnostics, hover, rename, formatting...) comes from the server.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("alur");
  const command = config.get("path", "alur");
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "alur",
    "alur SOP",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "alur" }, { scheme: "untitled", language: "alur" }],
      initializationOptions: { debounceMs: config.get("debounceMs", 120) },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

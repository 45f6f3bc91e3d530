#!/usr/bin/env node
// The edgebus command line; `edgebus --help` lists the commands, docs/cli.md describes them.
import { main } from "../cli/main.mjs";

await main();

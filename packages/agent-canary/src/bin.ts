#!/usr/bin/env node
// `npx agent-canary` looks the command up by package name: this package is that name, and
// runs the command of @agent-canary/cli with the same arguments.
import '@agent-canary/cli/bin';

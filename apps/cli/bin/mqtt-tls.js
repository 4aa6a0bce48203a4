#!/usr/bin/env node
// The installed command: a file that exists before the build, so installing the workspace links it without a
// warning; the program itself is the built dist/bin.js.
import "../dist/bin.js";

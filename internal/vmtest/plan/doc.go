// Package plan is the contract between the vmtest runner on the host and
// the init program inside the VM: the test plan the runner packs into the
// initramfs, and the machine-readable result lines init prints on the
// serial console for the runner to parse.
//
// Dependencies: the Go standard library only.
package plan

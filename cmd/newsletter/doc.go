// Command newsletter is the newsletter mailing pipeline: see README.md.
package main

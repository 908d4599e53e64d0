// The Go benchmarks (run.sh): a module of their own, so that the rolltoken package in ../
// keeps no dependency beyond the standard library.
module rolltoken.example/go-bench

go 1.21

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	rolltoken.example/go v0.0.0
)

replace rolltoken.example/go => ../

module rolltoken.example/go

go 1.19

module folio

go 1.26.8

require go.yaml.in/yaml/v3 v3.0.6

require github.com/mattn/go-sqlite3 v1.14.53

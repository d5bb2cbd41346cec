module folio

go 1.26.8

module github.com/tidewatch/tidewatch

go 1.26.8

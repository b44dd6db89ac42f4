from hovor.cli import app

app()

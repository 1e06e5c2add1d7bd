from thumbsmith.cli import run

run()

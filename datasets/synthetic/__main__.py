"""``python -m datasets.synthetic``: the generator's command line (:mod:`datasets.synthetic.generate`)."""
from datasets.synthetic.generate import main, parse_args

if __name__ == "__main__":
    main(parse_args())

"""Packaging for petri: everything is read from settings.ini (nbdev's convention).

The distribution is called `petri-crosslingual` (the name `petri` on PyPI belongs to another project); the import
name is `petri`. The sweep specs (`sweeps/`), the experiment notebook (`experiments/run.ipynb`) and the recorded
results (`results/`) ship inside the package as `petri/sweeps`, `petri/experiments` and `petri/results`, so the
chapters and `petri sweep` find them in a normal (non-editable) install as they do in a checkout."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
shipped = {'sweeps': ['*.yml'], 'experiments': ['run.ipynb', 'claims.yml'], 'results': ['*.json', '*.md', '*.parquet']}

setuptools.setup(
    name=cfg['dist_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    license='Apache-2.0',
    license_files=['LICENSE'],
    url=cfg['git_url'],
    project_urls={'Documentation': f"{cfg['doc_host']}{cfg['doc_baseurl']}", 'Source': cfg['git_url']},
    keywords=cfg['keywords'],
    python_requires=f">={cfg['min_python']}",
    packages=['petri'] + [f'petri.{d}' for d in shipped],
    package_dir={f'petri.{d}': d for d in shipped},
    package_data={f'petri.{d}': files for d, files in shipped.items()},
    install_requires=cfg['requirements'].split(),
    extras_require={'ray': cfg['ray_requirements'].split(), 'llm': cfg['llm_requirements'].split(),
                    'dev': cfg['dev_requirements'].split()},
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)

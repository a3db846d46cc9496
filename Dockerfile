FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY models ./models
COPY alerts ./alerts
COPY web ./web
RUN pip install ".[dask]" && useradd --create-home clusterwatch
USER clusterwatch
# The scoring kernels are compiled on first use and cached here (the package folder is
# not writable by this user).
ENV NUMBA_CACHE_DIR=/home/clusterwatch/.cache/numba

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "web:create_app()"]
